"""The real packaged weights: EfficientNet-Lite0 (tuned tower) + SmolLM2-135M + the shipped adaptors.

What only trained adaptors do: say what a photo they never saw shows. Held-out ("val" split)
catalog photos are described with the shipped adaptors, then with the projector put back to
its untrained initialisation, and scored as ``shopassist eval describe`` scores them (the
true colour and article type named, synonyms allowed); the shipped adaptors must win by a
wide margin (README, all 949 test photos: type 0.72 / colour 0.59 shipped, 0.00 / 0.005 untrained).
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.catalog import SAMPLE_CATALOG, read_catalog, split_of

REPO = Path(__file__).resolve().parents[1]
N_PHOTOS = 24
MAX_NEW_TOKENS = 12  # "This is a black tshirts for men." names both within the first dozen tokens
QUESTION = "Describe this product."

_LLAMA_CPP_PROBE = """
from llama_cpp import Llama
from adapters.loading.mllm import SMOLLM2_GGUF, smollm2_folder
llm = Llama(model_path=str(smollm2_folder() / SMOLLM2_GGUF), n_ctx=64, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"one two three four five"))
"""


def _backend() -> str:
    """The default backend (llama.cpp when installed), unless llama.cpp cannot decode a prompt
    on this CPU: a llama-cpp-python built for instructions the machine does not allow dies
    with SIGILL, which would end the whole test run, so it is tried in a child process first."""
    from adapters.loading.mllm import llama_cpp_available

    if not llama_cpp_available():
        return "transformers"
    probe = subprocess.run([sys.executable, "-c", _LLAMA_CPP_PROBE], cwd=REPO, capture_output=True, timeout=120)
    if probe.returncode != 0:
        print(f"llama.cpp cannot decode here (exit {probe.returncode}); using the transformers backend")
        return "transformers"
    return "llama.cpp"


def _held_out_photos(n: int):
    catalog = read_catalog(SAMPLE_CATALOG)
    photos = [p for p in catalog.products
              if split_of(p.id) == "val" and p.image and p.base_colour and p.article_type]
    random.Random(0).shuffle(photos)
    return photos[:n], catalog.facet_values("base_colour")


@pytest.mark.integration
def test_shipped_adaptors_describe_held_out_photos_far_better_than_an_untrained_projector():
    import torch

    from adapters.loading.mllm import load_runner
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage
    from finetune.eval_describe import describe_all, score_answers

    photos, colours = _held_out_photos(N_PHOTOS)
    assert len(photos) == N_PHOTOS
    runner = load_runner(MLLMConfig(device="cpu", max_new_tokens=MAX_NEW_TOKENS, backend=_backend()))
    loaded = runner.loaded
    assert loaded.kind == "embedded" and loaded.stage == "lora"
    assert loaded.model.config.image_seq_length == 20
    msgs = [ChatMessage("user", QUESTION, image=photos[0].image)]
    first = runner.generate(msgs, max_new_tokens=8)
    assert first.strip() and "".join(runner.stream(msgs, max_new_tokens=8)).strip() == first  # deterministic
    with pytest.raises(ValueError, match="no image was given"):
        loaded.processor("<image> describe")

    def describe(name: str):
        answers = describe_all(runner, photos, QUESTION, MAX_NEW_TOKENS, batch_size=8, progress=False)
        return score_answers(name, photos, answers, colours)

    shipped = describe("shipped")
    # the projector back to its untrained state: the initialisation load_mllm gives it without adaptors
    projector = loaded.model.model.multi_modal_projector
    torch.manual_seed(loaded.config.seed)
    for layer in (projector.linear_1, projector.linear_2):
        layer.reset_parameters()
    untrained = describe("untrained projector")

    report = (f"shipped: colour {shipped.colour_acc}, type {shipped.type_acc}, both {shipped.both_acc}; "
              f"untrained projector: colour {untrained.colour_acc}, type {untrained.type_acc}, "
              f"both {untrained.both_acc}; examples {[e['answer'] for e in shipped.examples[:3]]}")
    print(report)
    assert shipped.type_acc >= 0.45 and shipped.colour_acc >= 0.35, report
    assert shipped.type_acc >= untrained.type_acc + 0.3, report
    assert shipped.colour_acc >= untrained.colour_acc + 0.2, report
    assert shipped.both_acc >= untrained.both_acc + 0.2, report
