"""Where the app's :class:`assistant.Assistant` comes from: one per process.

The models and the store are heavy, so the app asks :func:`get_assistant` for them: the
first browser tab pays for loading (``st.cache_resource``), every later tab and rerun
shares the same object. By default it is the embedded models over the local store, as the
settings describe (``SHOPASSIST_*``, see ``assistant.Settings``). A caller that embeds the
page, or a test, hands the page its own assistant with :func:`provide` (a toy shop).
"""

from __future__ import annotations

import logging

import streamlit as st

from assistant import Assistant, load_assistant
from assistant.settings import apply_offline_defaults

logger = logging.getLogger(__name__)

LOADING_MESSAGE = "Loading the models and the product store (once per server; later visits are instant)..."
_provided: list[Assistant] = []  # at most one: the assistant handed in by provide()


def provide(assistant: Assistant | None) -> None:
    """Serve ``assistant`` instead of building one from the settings (``None``: back to the settings)."""
    _provided.clear()
    if assistant is not None:
        _provided.append(assistant)


def get_assistant() -> Assistant:
    """The shared Assistant: the provided one, else the one the settings describe (loaded on
    the first call in this process; a failed load is not cached, so the next visit retries)."""
    return _provided[0] if _provided else _from_settings()


@st.cache_resource(show_spinner=LOADING_MESSAGE)
def _from_settings() -> Assistant:
    apply_offline_defaults()  # the embedded default needs no model hub; lookups would retry for minutes
    logger.info("building the assistant from the settings")
    return load_assistant()


def startup_problem(exc: BaseException) -> str:
    """What to tell the shopper (and the operator) when the assistant cannot be built; the
    assistant's own errors already say how to fix them (e.g. which ingest command to run)."""
    text = str(exc).strip() or type(exc).__name__
    return f"The shopping assistant could not start: {text}"
