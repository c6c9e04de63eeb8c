"""One thread for the process's multi-threaded llama.cpp work.

llama.cpp's CPU threads are OpenMP threads, and in a process that has imported torch they
share torch's OpenMP runtime. That runtime keeps a pool of worker threads for every OS thread
that ever ran a parallel region, and once it manages more threads than the machine has cores
it stops spinning at barriers and sleeps at each one instead. A llama.cpp graph has a barrier
after every node, so on 2 cores, with one pool in the thread that streams a reply and another
in the thread that batches explanations (or torch's in the main thread), a one-token decode
step went from 15 ms to 45-58 ms (measured here; ``OMP_WAIT_POLICY=passive`` gives the same).
Everything a multi-threaded llama.cpp context decodes therefore runs on :func:`model_thread`,
one long-lived thread: one pool, whoever asks; and a process that serves such a context runs
torch on one thread (:func:`single_threaded_torch`), so that torch keeps no second pool.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger(__name__)


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def single_threaded_torch() -> None:
    """torch on one thread from now on, in this thread and in every thread that starts torch work
    later: a process that decodes with a multi-threaded llama.cpp context (on the model thread)
    keeps the one OpenMP pool that context needs. Measured on 2 cores: a query's MiniLM encoding
    (products on screen) 12 -> 14 ms p50; an "imagine" turn 0.8-0.9 s, against 2.1 s with torch on
    two threads beside a one-thread llama.cpp. The assistant's composition root decides."""
    import torch

    if torch.get_num_threads() != 1:
        logger.info("torch: %d threads -> 1 (llama.cpp decodes on the model thread)", torch.get_num_threads())
        torch.set_num_threads(1)


class ModelThread:
    """A single worker thread: ``call`` runs a function on it and returns its result (or raises
    its exception) in the caller; called from the worker itself, it runs inline."""

    def __init__(self, name: str = "shopassist-model"):
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=self._mark)

    def _mark(self) -> None:
        self._local.inside = True

    def on_thread(self) -> bool:
        return getattr(self._local, "inside", False)

    def submit(self, fn: Callable[..., T], *args, **kwargs) -> Future:
        if self.on_thread():
            fut: Future = Future()
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller as the future's exception
                fut.set_exception(exc)
            return fut
        return self._pool.submit(fn, *args, **kwargs)

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        return self.submit(fn, *args, **kwargs).result()


_THREAD: ModelThread | None = None
_LOCK = threading.Lock()


def model_thread() -> ModelThread:
    """The process's model thread, started on first use."""
    global _THREAD
    with _LOCK:
        if _THREAD is None:
            _THREAD = ModelThread()
        return _THREAD
