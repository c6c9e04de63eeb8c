"""The learned output projector: shapes, masking, training lowers the loss, save/load, the training run."""

from __future__ import annotations

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
from finetune.train_output_projector import OutputProjectorRunConfig, build_tiny_llm, caption, request_pairs, train


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
    from retrieval.catalog import read_catalog

    p = read_catalog(sample_catalog_path).products[0]
    # the fields the embedded generator was trained on, never the title (no brand to draw)
    assert caption(p) == f"a {p.base_colour.lower()} watch for men" and p.title not in caption(p)
    llm_texts, prompts = request_pairs([p])
    assert llm_texts[0].startswith("Imagine") and caption(p) in prompts[0] and "white background" in prompts[0]


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
    held = [p for p in held if split_of(p.id) == "test"]
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
