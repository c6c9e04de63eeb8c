"""Exporting the fine-tuned language model back into GGUF (for the llama.cpp backend), on a
tiny random LLaVA and a GGUF written for it here in llama.cpp's layout."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch

from adapters.mllm.gguf_export import GGUFExportError, _hf_tensor, export_gguf, rope_permute
from tests.mllm_tiny import tiny_llava


def _gguf_names(n_layers: int) -> list[str]:
    per = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
    return ["token_embd.weight", "output_norm.weight"] + [f"blk.{i}.{p}.weight" for i in range(n_layers) for p in per]


def _write_base(model, path) -> None:
    """A GGUF of ``model``'s language model as llama.cpp's converter would write it (F32)."""
    lm, cfg = model.model.language_model, model.config.text_config
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_head_count(cfg.num_attention_heads)
    for name in _gguf_names(cfg.num_hidden_layers):
        w.add_tensor(name, np.ascontiguousarray(_hf_tensor(name, lm, model.lm_head, cfg), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_rope_permute_is_what_llama_cpp_expects():
    w = np.arange(8 * 3, dtype=np.float32).reshape(8, 3)  # 2 heads of 4 rows
    # per head, rows (0, 1, 2, 3) -> (0, 2, 1, 3): the two rotary halves interleaved
    assert rope_permute(w, 2)[:, 0].tolist() == [0, 6, 3, 9, 12, 18, 15, 21]


def test_export_replaces_exactly_the_changed_tensors(tmp_path):
    model, _ = tiny_llava()
    base = tmp_path / "base.gguf"
    _write_base(model, base)
    attn = model.model.language_model.layers
    with torch.no_grad():  # what a merged LoRA does: small changes to a few attention matrices
        attn[0].self_attn.q_proj.weight.add_(0.001 * torch.randn_like(attn[0].self_attn.q_proj.weight))
        attn[1].self_attn.v_proj.weight.add_(0.001 * torch.randn_like(attn[1].self_attn.v_proj.weight))
    report = export_gguf(model, base, tmp_path / "out.gguf")
    assert report["replaced"] == ["blk.0.attn_q.weight", "blk.1.attn_v.weight"]
    assert report["kept"] == len(_gguf_names(2)) - 2
    before = {t.name: t for t in gguf.GGUFReader(str(base)).tensors}
    after = {t.name: t for t in gguf.GGUFReader(str(tmp_path / "out.gguf")).tensors}
    assert list(after) == list(before)
    cfg = model.config.text_config
    q = rope_permute(attn[0].self_attn.q_proj.weight.detach().numpy(), cfg.num_attention_heads)
    np.testing.assert_array_equal(np.asarray(after["blk.0.attn_q.weight"].data).reshape(q.shape), q)
    np.testing.assert_array_equal(after["blk.1.ffn_up.weight"].data,
                                  before["blk.1.ffn_up.weight"].data)
    fields = gguf.GGUFReader(str(tmp_path / "out.gguf")).fields
    assert fields["llama.attention.head_count"].contents() == cfg.num_attention_heads


def test_a_model_that_is_not_a_fine_tune_of_the_file_is_refused(tmp_path):
    model, _ = tiny_llava(seed=0)
    base = tmp_path / "base.gguf"
    _write_base(model, base)
    other, _ = tiny_llava(seed=1)  # unrelated weights: every matrix "changed" by ~100% of its norm
    with pytest.raises(GGUFExportError, match="not a fine-tune"):
        export_gguf(other, base, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists() and not (tmp_path / "out.part").exists()
