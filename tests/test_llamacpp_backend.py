"""The llama.cpp text backend of the multimodal LLM: its pieces (n-gram ban, backend choice)
and, with llama-cpp-python installed, the real packaged model answering like transformers."""

from __future__ import annotations

import pytest

from adapters.mllm.config import MLLMConfig
from adapters.mllm.llamacpp_runner import _banned
from retrieval.catalog import SAMPLE_CATALOG


def test_no_repeat_ngram_ban_matches_transformers_rule():
    history = [5, 6, 7, 5, 6]
    assert _banned(history, 3, vocab=100) == {7}  # "5 6 7" was seen; after "5 6" the 7 is banned
    assert _banned(history, 2, vocab=100) == {7}  # after "6": only 7 followed it before
    assert _banned([1, 2], 3, vocab=100) == set()
    assert _banned([5, 6, 99, 5, 6], 3, vocab=50) == set()  # ids past llama.cpp's vocab are never banned


def test_backend_choice(monkeypatch):
    from adapters.loading import mllm

    with pytest.raises(ValueError, match="backend must be one of"):
        MLLMConfig(backend="vllm")
    assert mllm.resolve_backend(MLLMConfig(backend="transformers", device="cpu")) == "transformers"
    monkeypatch.setattr(mllm, "llama_cpp_available", lambda: False)
    assert mllm.resolve_backend(MLLMConfig(device="cpu")) == "transformers"
    with pytest.raises(ModuleNotFoundError, match="llama-cpp-python"):
        mllm.resolve_backend(MLLMConfig(backend="llama.cpp", device="cpu"))
    monkeypatch.setattr(mllm, "llama_cpp_available", lambda: True)
    assert mllm.resolve_backend(MLLMConfig(device="cpu")) == "llama.cpp"


@pytest.fixture(scope="module")
def both_runners(tmp_path_factory):
    """(transformers runner, llama.cpp runner) over one loaded model (GGUF exported afresh)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup builds it)")
    from llama_cpp import Llama

    from adapters.loading.mllm import exported_gguf, load_mllm
    from adapters.mllm.llamacpp_runner import LlamaCppRunner
    from adapters.mllm.runner import MLLMRunner

    cfg = MLLMConfig(device="cpu", cache_dir=str(tmp_path_factory.mktemp("cache")), max_new_tokens=12)
    loaded = load_mllm(cfg)
    path = exported_gguf(loaded)
    assert path.is_file() and exported_gguf(loaded) == path  # exported once, then reused
    llama = Llama(model_path=str(path), n_ctx=1024, n_threads=2, verbose=False)
    return MLLMRunner(loaded), LlamaCppRunner(loaded, llama)


@pytest.mark.integration
def test_llama_cpp_answers_about_the_image_like_transformers(both_runners):
    from adapters.mllm.runner import ChatMessage

    hf, lc = both_runners
    images = SAMPLE_CATALOG.parent / "images"
    answers = []
    for name in ("25670.jpg", "15970.jpg"):
        msgs = [ChatMessage("user", "Describe this product.", image=str(images / name))]
        a, b = hf.generate(msgs, max_new_tokens=12), lc.generate(msgs, max_new_tokens=12)
        assert b.strip() and b.split()[:4] == a.split()[:4]  # same weights; llama.cpp quantises activations
        assert "".join(lc.stream(msgs, max_new_tokens=12)).strip() == b  # deterministic, same path
        answers.append(b)
    assert answers[0] != answers[1]  # the picture reaches the model
    batch = lc.generate_batch([[ChatMessage("user", "Name a colour.")]] * 2, max_new_tokens=8, no_repeat_ngram_size=3)
    assert len(batch) == 2 and batch[0] == batch[1] and batch[0]


@pytest.mark.integration
def test_llama_cpp_refuses_what_transformers_refuses(both_runners):
    from adapters.imaging import ImageError
    from adapters.mllm.runner import ChatMessage

    _, lc = both_runners
    with pytest.raises(ImageError):
        lc.generate([ChatMessage("user", "describe", image=b"not an image")])
    with pytest.raises(ValueError, match="last message must be from the user"):
        lc.generate([ChatMessage("assistant", "hi")])
    typed = lc.generate([ChatMessage("user", "<image> Name a colour.")], max_new_tokens=6)  # marker stripped
    assert typed == lc.generate([ChatMessage("user", " Name a colour.")], max_new_tokens=6)


def _trigrams(tokenizer, text: str) -> list[tuple[int, ...]]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return [tuple(ids[i:i + 3]) for i in range(len(ids) - 2)]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["transformers", "llama.cpp"])
def test_no_repeat_ngrams_let_the_answer_copy_the_prompts_facts(both_runners, backend):
    """The n-gram ban keeps an answer from repeating itself, never from copying its prompt: an
    explanation must be able to say the "$24.99" and "the most expensive of the five" it is given
    (banning the prompt's n-grams made the model write "$20.97" and "mostexpensive of thefive")."""
    from adapters.mllm.runner import ChatMessage

    runner = dict(zip(("transformers", "llama.cpp"), both_runners))[backend]
    prompt = ("Copy this sentence exactly: This pair of black sports shoes for men costs $24.99 "
              "and is the most expensive of the five.")
    free, banned = (runner.generate_batch([[ChatMessage("user", prompt)]], max_new_tokens=24,
                                          no_repeat_ngram_size=n)[0] for n in (0, 3))
    grams = _trigrams(runner.tokenizer, free)
    assert set(grams) & set(_trigrams(runner.tokenizer, prompt))  # free to, the model copies the prompt
    if len(grams) == len(set(grams)):
        assert banned == free  # nothing of its own to ban: the prompt's words stay allowed


@pytest.mark.integration
def test_a_prompt_starting_as_the_last_one_reuses_its_start_and_answers_the_same(both_runners):
    """The context keeps the last prompt's text (system prompt, request so far): a prompt that starts
    the same runs only the rest, and answers as if run whole (the request reader's turns, 1.1 s p50
    on one thread, spent most of it re-reading the same system prompt)."""
    from adapters.mllm.runner import ChatMessage

    _, lc = both_runners
    images = SAMPLE_CATALOG.parent / "images"
    first = [ChatMessage("system", "You describe fashion products in one short sentence."),
             ChatMessage("user", "Name a colour.")]
    second = [first[0], ChatMessage("user", "Name a kind of shoe.")]
    pictured = [first[0], ChatMessage("user", "Describe this product.", image=str(images / "25670.jpg"))]
    cold = []
    for msgs in (first, second, pictured):
        lc._held = []  # nothing held: the whole prompt runs
        cold.append(lc.generate(msgs, max_new_tokens=8))
    warm = [lc.generate(msgs, max_new_tokens=8) for msgs in (first, second, second, pictured, first)]
    assert warm == [cold[0], cold[1], cold[1], cold[2], cold[0]]
    a, b = (lc.build_inputs(msgs)["input_ids"][0].tolist() for msgs in (first, second))
    shared = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    assert shared > 10 and lc._reusable(b, len(b)) == shared  # held since the last call (first)
