"""The model thread: one OS thread runs every multi-threaded llama.cpp decode, whoever asks;
and the shared start of a batch's prompts (decoded once, copied to every sequence)."""

from __future__ import annotations

import threading

import pytest

from adapters.compute import ModelThread, model_thread
from adapters.mllm.llamacpp_batch import _shared_prefix


def test_calls_from_many_threads_run_on_one_thread():
    worker = ModelThread()
    seen: set[int] = set()

    def ask():
        worker.call(lambda: seen.add(threading.get_ident()))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(seen) == 1 and threading.get_ident() not in seen


def test_a_call_from_the_model_thread_runs_inline_and_errors_reach_the_caller():
    worker = ModelThread()
    assert worker.call(lambda: worker.call(lambda: 41) + 1) == 42  # no deadlock on re-entry
    assert worker.call(worker.on_thread) and not worker.on_thread()
    with pytest.raises(ValueError, match="bad prompt"):
        worker.call(lambda: (_ for _ in ()).throw(ValueError("bad prompt")))
    assert worker.call(lambda: "still serving") == "still serving"


def test_the_process_has_one_model_thread():
    assert model_thread() is model_thread()


IMAGE = 99


@pytest.mark.parametrize("prompts, shared", [
    ([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 7]], 2),
    ([[1, 2, 3], [1, 2, 3]], 2),  # each keeps one token of its own: its logits come from it
    ([[1, 2, 3]], 0),  # one prompt: nothing to share
    ([[1, IMAGE, 3], [1, IMAGE, 3]], 1),  # image rows are not shared: they go in per sequence
    ([[5, 2], [1, 2]], 0),
])
def test_shared_prefix(prompts, shared):
    assert _shared_prefix(prompts, IMAGE) == shared
