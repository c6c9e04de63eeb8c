"""The learned output projector: shapes, masking, training lowers the loss, save/load, the training run."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from adapters.loading.diffusion import tiny_text_encoder
from adapters.output.projector import (
    OutputProjector,
    OutputProjectorConfig,
    embedding_loss,
    llm_request_states,
    load_output_projector,
    save_output_projector,
    text_encoder_targets,
)
from finetune.train_output_projector import OutputProjectorRunConfig, build_tiny_llm, caption_splits, request_pairs, train


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_shapes_and_padding_is_ignored():
    model = OutputProjector(OutputProjectorConfig(llm_dim=576, cond_dim=64, num_tokens=77, num_heads=4)).eval()
    h = torch.randn(2, 9, 576)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 5:] = 0
    out = model(h, mask)
    assert out.shape == (2, 77, 64)
    h2 = h.clone()
    h2[1, 5:] = 100.0  # garbage in padded positions must not matter
    assert torch.allclose(model(h2, mask), out, atol=1e-5)
    with pytest.raises(ValueError, match="576"):
        model(torch.randn(2, 9, 100))
    with pytest.raises(ValueError, match="divisible"):
        OutputProjectorConfig(cond_dim=30, num_heads=4)


def test_a_few_steps_on_real_text_encoder_targets_lower_the_loss():
    llm_tok, llm = build_tiny_llm()
    te_tok, te = tiny_text_encoder(32)
    texts = ["Imagine a red dress", "Imagine a navy blue shirt for men", "Imagine black leather boots",
             "Imagine a white sports shoe", "Imagine a gold watch", "Imagine a green backpack"]
    h, m = llm_request_states(llm, llm_tok, texts)
    target = text_encoder_targets(te_tok, te, texts)
    assert h.shape[:2] == m.shape and h.shape[-1] == 64 and target.shape == (6, 77, 32)
    model = OutputProjector(OutputProjectorConfig(llm_dim=64, cond_dim=32, num_tokens=77, num_heads=4))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = embedding_loss(model(h, m), target)[0].item()
    for _ in range(30):
        loss, cos = embedding_loss(model(h, m), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first and cos.item() > 0.9


def test_save_and_load_round_trip(tmp_path):
    model = OutputProjector(OutputProjectorConfig(llm_dim=16, cond_dim=8, num_tokens=5, num_heads=2)).eval()
    save_output_projector(model, tmp_path / "p", extra={"note": "test"})
    again = load_output_projector(tmp_path / "p")
    x = torch.randn(1, 3, 16)
    assert torch.equal(model(x), again(x))
    with pytest.raises(FileNotFoundError, match="train-output-projector"):
        load_output_projector(tmp_path / "missing")


def test_captions_come_from_catalog_metadata(sample_catalog_path):
    from finetune.diffusion_data import descriptions
    from retrieval.catalog import read_catalog, split_of

    products = read_catalog(sample_catalog_path).products
    p = products[0]
    captions, splits = caption_splits([p])
    # the fields the embedded generator was trained on, never the title (no brand to draw)
    assert f"a {p.base_colour.lower()} watch for men" in captions and all(p.title not in c for c in captions)
    assert set(splits) == {split_of(p.id)}
    llm_texts, prompts = request_pairs(captions)
    assert llm_texts[0].startswith("Imagine") and captions[0] in prompts[0] and "white background" in prompts[0]
    # every text once, held out only when no earlier split has it: val/test captions are unseen texts
    captions, splits = caption_splits(products[:400])
    assert len(captions) == len(set(captions)) and {"train", "val", "test"} <= set(splits)
    train_texts = {c for c, s in zip(captions, splits) if s == "train"}
    for q in products[:400]:
        if split_of(q.id) == "train":
            assert set(descriptions(q)) <= train_texts


@torch.no_grad()
def _held_out_score(model, hidden, mask, target) -> tuple[float, float]:
    loss, cos = embedding_loss(model.eval()(hidden, mask), target)
    return float(loss), float(cos)


def test_training_run_saves_a_projector_that_beats_its_start(sample_catalog_path, tmp_path):
    from retrieval.catalog import read_catalog, split_of

    cfg = OutputProjectorRunConfig(catalog=str(sample_catalog_path), out=str(tmp_path / "out"), llm="tiny",
                                   limit=160, epochs=6, batch_size=32, lr=2e-3, device="cpu",
                                   cache_dir=str(tmp_path / "cache"))
    llm_tok, llm = build_tiny_llm(seed=cfg.seed)
    te_tok, te = tiny_text_encoder(32, cfg.seed)
    result = train(cfg, models=(llm_tok, llm, te_tok, te))
    hist = result["history"]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert result["val_captions"] >= 2
    # held out: the "test" split of the same products, which training neither fits nor selects on
    held = [p for p in read_catalog(sample_catalog_path).products if p.title][: cfg.limit]
    captions, splits = caption_splits(held)
    held = [c for c, s in zip(captions, splits) if s == "test"]
    assert len(held) >= 10
    llm_texts, prompts = request_pairs(held)
    h, m = llm_request_states(llm, llm_tok, llm_texts, cfg.max_llm_tokens)
    target = text_encoder_targets(te_tok, te, prompts)
    trained_loss, trained_cos = _held_out_score(load_output_projector(tmp_path / "out"), h, m, target)
    pcfg = OutputProjectorConfig(llm_dim=64, cond_dim=32, num_tokens=77, num_heads=cfg.num_heads)
    for seed in range(3):  # its start: the same projector untrained (any seed: the first one is not recorded)
        torch.manual_seed(seed)
        start_loss, start_cos = _held_out_score(OutputProjector(pcfg), h, m, target)
        assert trained_loss < 0.5 * start_loss, (seed, trained_loss, start_loss)
        assert trained_cos > start_cos + 0.3, (seed, trained_cos, start_cos)
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"output_projector.safetensors", "output_projector.json", "training.json", "loss_curve.png"} <= files
    saved = json.loads((tmp_path / "out" / "output_projector.json").read_text())
    assert saved["config"]["cond_dim"] == 32 and saved["config"]["num_tokens"] == 77
    model = load_output_projector(tmp_path / "out")
    assert model(torch.randn(1, 4, 64)).shape == (1, 77, 32)


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_llama_cpp_token_states_are_per_text_and_padded():
    """What the output projector reads at run time: SmolLM2's per-token states, one row per text."""
    from adapters.loading.llm_states import load_token_states
    from adapters.loading.mllm import llama_cpp_runs

    if not llama_cpp_runs():  # a build for another CPU dies with SIGILL: probed in a child process
        pytest.skip("llama-cpp-python cannot decode on this machine")

    states = load_token_states("llama_cpp", n_threads=1)
    texts = ["Imagine a red t-shirt for men", "Imagine a pair of black sports shoes for women in black"]
    hidden, mask = states(texts)
    assert hidden.shape[0] == 2 and hidden.shape[2] == 576 and mask[0].sum() < mask[1].sum()
    alone, alone_mask = states(texts[:1])
    n = int(alone_mask.sum())
    assert n == int(mask[0].sum()) and torch.allclose(hidden[0, :n], alone[0, :n], atol=1e-3)
    assert not hidden[0, n:].any()


def test_the_prompt_encoder_refuses_a_projector_of_the_test_llm(tmp_path):
    from adapters.output.projector import LLMPromptEncoder

    save_output_projector(OutputProjector(OutputProjectorConfig(llm_dim=64, cond_dim=32, num_tokens=8, num_heads=4)),
                          tmp_path, extra={"llm": "tiny"})
    with pytest.raises(ValueError, match="tiny"):
        LLMPromptEncoder(tmp_path)
