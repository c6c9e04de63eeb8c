"""What the fuzz tests share: hypothesis settings, a per-module count of the examples each
property ran (printed with ``-s``), and a spy on every file the code under test opens."""

from __future__ import annotations

import builtins
import collections
import os
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
EXAMPLES: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def report_examples():
    """Import it into a test module to print, after the module, how many examples each property ran."""
    yield
    print("\nfuzz examples run per property: " + ", ".join(f"{k} {v}" for k, v in sorted(EXAMPLES.items())))
    EXAMPLES.clear()


class OpenSpy:
    """Records every path opened through open(), io.open(), Path.open() and os.open()."""

    def __init__(self):
        self.paths: list[str] = []

    def __enter__(self):
        real_open, real_os_open = builtins.open, os.open

        def spy_open(file, *a, **k):
            self.paths.append(os.fspath(file) if not isinstance(file, int) else f"<fd {file}>")
            return real_open(file, *a, **k)

        def spy_os_open(path, *a, **k):
            self.paths.append(os.fspath(path))
            return real_os_open(path, *a, **k)

        self._patches = [mock.patch("builtins.open", spy_open), mock.patch("io.open", spy_open),
                         mock.patch("os.open", spy_os_open)]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in reversed(self._patches):
            p.stop()
