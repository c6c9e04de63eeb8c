"""Where the app's :class:`assistant.Assistant` comes from: one per process.

The models and the store are heavy, so the app asks :func:`get_assistant` for them: the
first browser tab pays for loading (``st.cache_resource``), every later tab and rerun
shares the same object. By default it is the embedded models over the local store, as the
settings describe (``SHOPASSIST_*``, see ``assistant.Settings``). A caller that embeds the
page, or a test, hands the page its own assistant with :func:`provide` (a toy shop).

``shopassist ui`` starts that load with the server (:func:`start_preload`, from
``ui/serve.py``), so the first tab finds the assistant loaded, or part-loaded, rather than
starting it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from assistant import Assistant

logger = logging.getLogger(__name__)

LOADING_MESSAGE = "Loading the models and the product store (once per server; later visits are instant)..."
_provided: list[Assistant] = []  # at most one: the assistant handed in by provide()
_preloading: list[Future] = []  # at most one: the load start_preload() began, until a page takes it


def provide(assistant: Assistant | None) -> None:
    """Serve ``assistant`` instead of building one from the settings (``None``: back to the settings)."""
    _provided.clear()
    if assistant is not None:
        _provided.append(assistant)


def get_assistant() -> Assistant:
    """The shared Assistant: the provided one, else the one the settings describe (loaded on
    the first call in this process; a failed load is not cached, so the next visit retries)."""
    return _provided[0] if _provided else _from_settings()


def start_preload() -> None:
    """Start building the settings' assistant now, on a background thread (the server's start),
    for the first page to take. Its error, if any, is logged here and shown by that page."""
    if _preloading:
        return
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(_load())
        except BaseException as exc:  # shown (and retried) by the first page that asks
            logger.warning("preloading the assistant failed: %s", exc)
            future.set_exception(exc)

    _preloading.append(future)
    threading.Thread(target=run, name="shopassist-preload", daemon=True).start()


@st.cache_resource(show_spinner=LOADING_MESSAGE)
def _from_settings() -> Assistant:
    if _preloading:  # st.cache_resource lets one caller at a time in here: one page takes it
        return _preloading.pop().result()  # a failed preload raises: not cached, the next visit loads
    return _load()


def load_assistant() -> Assistant:
    """``assistant.load_assistant()``, with the LLM left loading in the background (the products
    can be shown before it is ready; its first sentence waits for it). Imported here when first
    called: this module is imported before the server starts (``ui/serve.py``), and the
    models' imports belong to the load."""
    from assistant import load_assistant as load

    return load(llm_in_background=True)


def _load() -> Assistant:
    from assistant.settings import apply_offline_defaults

    apply_offline_defaults()  # the embedded default needs no model hub; lookups would retry for minutes
    logger.info("building the assistant from the settings")
    return load_assistant()


def startup_failed(exc: BaseException) -> None:
    """The page when the assistant cannot be built (drawn without importing the rest of the page)."""
    st.error(startup_problem(exc))
    st.caption("The page will try again when you reload it.")


def startup_problem(exc: BaseException) -> str:
    """What to tell the shopper (and the operator) when the assistant cannot be built; the
    assistant's own errors already say how to fix them (e.g. which ingest command to run)."""
    text = str(exc).strip() or type(exc).__name__
    return f"The shopping assistant could not start: {text}"
