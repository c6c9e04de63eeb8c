"""pyproject's ``slow`` marker, as tests/conftest.py implements it: off unless SHOPASSIST_SLOW=1."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER_TESTS = """
import pytest

@pytest.mark.slow
def test_long():
    pass

def test_quick():
    pass
"""


@pytest.fixture
def inner(pytester):
    pytester.makeconftest("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    pytester.makeini('[pytest]\nmarkers =\n    slow: long-running; off unless SHOPASSIST_SLOW=1\n')
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


@pytest.mark.parametrize("value", [None, "0", "yes"])
def test_slow_tests_are_skipped_with_the_reason_unless_asked_for(inner, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("SHOPASSIST_SLOW", raising=False)
    else:
        monkeypatch.setenv("SHOPASSIST_SLOW", value)
    result = inner.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*test_inner.py*slow: off unless SHOPASSIST_SLOW=1*"])


def test_slow_tests_run_with_shopassist_slow_1(inner, monkeypatch):
    monkeypatch.setenv("SHOPASSIST_SLOW", "1")
    inner.runpytest().assert_outcomes(passed=2)
