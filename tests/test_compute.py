"""The model thread: one OS thread runs every multi-threaded llama.cpp decode, whoever asks;
and where a batched answer's sentences end (decoding stops after the ones asked for)."""

from __future__ import annotations

import threading

import pytest

from adapters.compute import ModelThread, model_thread
from adapters.mllm.llamacpp_batch import _sentences


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


@pytest.mark.parametrize("text, n", [
    ("This shirt costs $12.99 and", 0),  # a price's point ends nothing
    ("This red shirt is for men.", 0),  # not known to be over until the next word starts
    ("This red shirt is for men. It", 1),
    ("Great! A red shirt. \"Nice\" one? Yes", 3),
    ('He said "fine." Then', 1),
])
def test_sentences_counted_once_the_next_word_starts(text, n):
    assert _sentences(text) == n
