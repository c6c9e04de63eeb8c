"""A model loading on another thread that can be handed out at once: each use waits for it.

The chat page shows products as soon as the encoders and the store are loaded; the multimodal
LLM is only needed for the first sentence it writes, so it may still be loading then
(:func:`assistant.services.load_parts` with ``llm_in_background=True``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

logger = logging.getLogger(__name__)


class Pending:
    """Stands for what ``load()`` returns while it runs on a daemon thread: every attribute looked
    up on it waits for the load and comes from the loaded object; a failed load raises its error
    at each use (and is logged once). ``ready()`` waits and returns the object itself."""

    def __init__(self, load: Callable[[], Any], name: str):
        self._future: Future = Future()
        self._name = name
        threading.Thread(target=self._run, args=(load,), name=f"shopassist-load-{name}", daemon=True).start()

    def _run(self, load: Callable[[], Any]) -> None:
        try:
            self._future.set_result(load())
        except BaseException as exc:  # raised to whoever uses it, each time
            logger.error("loading %s failed: %s", self._name, exc)
            self._future.set_exception(exc)

    def ready(self, timeout: float | None = None) -> Any:
        return self._future.result(timeout)

    @property
    def done(self) -> bool:
        return self._future.done()

    def when_loaded(self, then: Callable[[Any], None], failed: Callable[[BaseException], None]) -> None:
        """Call ``then(obj)`` once loaded (now, if it is), or ``failed(error)``."""
        def call(future: Future) -> None:
            error = future.exception()
            then(future.result()) if error is None else failed(error)

        self._future.add_done_callback(call)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_future", "_name"):  # copy and pickle probe dunders
            raise AttributeError(name)
        return getattr(self.ready(), name)

    def __repr__(self) -> str:
        state = "loaded" if self.done else "loading"
        return f"<Pending {self._name}: {state}>"
