"""Many shoppers, one model: conversations of several sessions decoded in one llama.cpp
batch give each session the answer it gets alone (no cross-talk), text and image alike."""

from __future__ import annotations

import threading

import pytest

from adapters.mllm.config import MLLMConfig
from adapters.mllm.runner import ChatMessage
from retrieval.catalog import SAMPLE_CATALOG


@pytest.fixture(scope="module")
def runner():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup builds it)")
    from adapters.loading import mllm

    if not mllm.llama_cpp_runs():
        pytest.skip("this machine's llama-cpp-python build cannot decode")
    return mllm.load_runner(MLLMConfig(device="cpu", backend="llama.cpp", max_new_tokens=12))


def _conversations() -> list[list[ChatMessage]]:
    images = SAMPLE_CATALOG.parent / "images"
    return [[ChatMessage("user", "Name one colour for a summer dress.")],
            [ChatMessage("user", "Describe this product.", image=str(images / "25670.jpg"))],
            [ChatMessage("user", "Why are these sneakers good for running?")],
            [ChatMessage("user", "Describe this product.", image=str(images / "15970.jpg"))]]


@pytest.mark.integration
def test_batched_answers_equal_the_answers_alone(runner):
    convs = _conversations()
    runner.batch_sequences = 0
    alone = [runner.generate_batch([c], no_repeat_ngram_size=3)[0] for c in convs]
    runner.batch_sequences = 8
    together = runner.generate_batch(convs, no_repeat_ngram_size=3)
    assert all(alone) and len(set(alone)) == len(alone)
    for a, b in zip(alone, together):
        assert b.split()[:4] == a.split()[:4], (a, b)  # llama.cpp's batched matmuls may round differently


@pytest.mark.integration
def test_concurrent_sessions_share_a_batch_without_cross_talk(runner):
    convs = _conversations()
    runner.batch_sequences = 8
    want = runner.generate_batch(convs)
    got: dict[int, str] = {}
    start = threading.Barrier(len(convs))

    def session(i: int) -> None:
        start.wait()
        got[i] = runner.generate_batch([convs[i]])[0]

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(convs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert [got[i].split()[:4] for i in range(len(convs))] == [w.split()[:4] for w in want]


@pytest.mark.integration
def test_answers_end_after_the_sentences_asked_for(runner):
    from adapters.mllm.llamacpp_batch import _sentences

    convs = _conversations()
    runner.batch_sequences = 8
    full = runner.generate_batch(convs, max_new_tokens=48, no_repeat_ngram_size=3)
    one = runner.generate_batch(convs, max_new_tokens=48, no_repeat_ngram_size=3, sentences=1)
    assert any(_sentences(f) >= 1 for f in full)  # some answers go on past their first sentence
    for f, o in zip(full, one):
        assert _sentences(o + " And") <= 1, (f, o)
        assert o.split()[:4] == f.split()[:min(4, len(o.split()))]
