"""Start in seconds: with the llama.cpp export and its text side cached, the runner's torch
side is the vision tower and the trained projector only, with the same weights (and so the
same image rows) as the full LLaVA load gives them."""

from __future__ import annotations

import pytest
import torch

from adapters.mllm.config import MLLMConfig


def test_vision_side_needs_the_cached_export(tmp_path):
    from adapters.loading.mllm import gguf_path, load_vision_side, text_side_dir

    cfg = MLLMConfig(device="cpu", cache_dir=str(tmp_path))
    assert load_vision_side(cfg) is None  # nothing cached: the caller does the full load
    path = gguf_path(cfg, "lora")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert load_vision_side(cfg) is None  # no tokenizer / text config beside it yet
    assert text_side_dir(path).suffix == ".text"
    assert load_vision_side(MLLMConfig(device="cpu", cache_dir=str(tmp_path), adapter_path=None)) is None


def test_projector_weights_read_from_the_peft_folder_by_name():
    from adapters.loading.mllm import projector_weights
    from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR

    from pathlib import Path

    state = projector_weights(Path(DEFAULT_MLLM_ADAPTER_DIR), "lora")
    assert set(state) == {"linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias"}


@pytest.mark.integration
def test_vision_side_matches_the_full_load(tmp_path):
    from adapters.loading.mllm import gguf_path, load_mllm, load_vision_side, save_text_side

    cfg = MLLMConfig(device="cpu", cache_dir=str(tmp_path))
    full = load_mllm(cfg)
    path = gguf_path(cfg, full.stage)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stand-in: load_vision_side never reads the GGUF")
    save_text_side(full, path)
    light = load_vision_side(cfg)
    assert light is not None and light.stage == full.stage == "lora"
    assert light.model.lm_head.weight.is_meta  # no language model on the torch side
    assert light.model.config.image_token_id == full.model.config.image_token_id
    assert light.tokenizer("a <image> b")["input_ids"] == full.tokenizer("a <image> b")["input_ids"]
    for part in ("vision_tower", "multi_modal_projector"):
        a = getattr(full.model.model, part).state_dict()
        b = getattr(light.model.model, part).state_dict()
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), part
    pixels = torch.rand(1, 3, 160, 128)
    with torch.inference_mode():
        rows = [m.model.multi_modal_projector(m.model.vision_tower(pixels).last_hidden_state)
                for m in (full.model, light.model)]
    assert torch.equal(rows[0], rows[1])
