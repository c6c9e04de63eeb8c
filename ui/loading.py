"""Where the app's :class:`~assistant.core.Assistant` comes from: one per process.

The models and the store are heavy, so the app asks :func:`get_assistant` (an
``st.cache_resource``) for them: the first browser tab pays for loading, every later tab
and rerun shares the same object. What builds it is a *factory*, a zero-argument callable
named ``module:function`` (dots allowed after the colon). The default is the embedded
models over the local store (``Assistant.from_settings``, settings from ``SHOPASSIST_*``);
tests point ``SHOPASSIST_UI_FACTORY`` at a toy shop instead.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable

import streamlit as st

logger = logging.getLogger(__name__)

FACTORY_ENV = "SHOPASSIST_UI_FACTORY"
DEFAULT_FACTORY = "assistant.core:Assistant.from_settings"
LOADING_MESSAGE = "Loading the models and the product store (once per server; later visits are instant)..."

# The embedded default needs no model hub; without these every hub lookup retries for minutes.
_OFFLINE = (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False"),
            ("TOKENIZERS_PARALLELISM", "false"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"))


class FactoryError(ValueError):
    """The factory named in ``SHOPASSIST_UI_FACTORY`` cannot be used."""


def factory_spec() -> str:
    """The factory to build the assistant with: ``$SHOPASSIST_UI_FACTORY`` or the embedded default."""
    return os.environ.get(FACTORY_ENV, "").strip() or DEFAULT_FACTORY


def resolve_factory(spec: str) -> Callable[[], object]:
    """``"package.module:function"`` (or ``:Class.method``) as a callable."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise FactoryError(f"{FACTORY_ENV}={spec!r} must look like 'package.module:function'")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise FactoryError(f"{FACTORY_ENV}={spec!r}: cannot import {module_name!r} ({exc})") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise FactoryError(f"{FACTORY_ENV}={spec!r}: {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise FactoryError(f"{FACTORY_ENV}={spec!r} is not callable")
    return obj


@st.cache_resource(show_spinner=LOADING_MESSAGE)
def get_assistant(spec: str = DEFAULT_FACTORY):
    """The shared Assistant for ``spec`` (loaded on the first call in this process; a failed
    load is not cached, so the next page load tries again)."""
    for key, value in _OFFLINE:
        os.environ.setdefault(key, value)
    logger.info("building the assistant with %s", spec)
    return resolve_factory(spec)()


def startup_problem(exc: BaseException) -> str:
    """What to tell the shopper (and the operator) when the assistant cannot be built; the
    assistant's own errors already say how to fix them (e.g. which ingest command to run)."""
    text = str(exc).strip() or type(exc).__name__
    return f"The shopping assistant could not start: {text}"
