"""Write the trained language model (LoRA merged) back into a GGUF file for llama.cpp.

The embedded LLM is read from a GGUF (Q4_1/Q8_0) and dequantised into transformers; LoRA
then changes a few attention matrices. The export copies the original file and replaces
only the tensors whose weights changed, as F32 (re-quantising them would lose the LoRA
delta). Every tensor is compared after dequantising, in llama.cpp's layout (q/k rows
permuted for its rotary embedding, as llama.cpp's converter does), so a layout mistake
shows up as tensors changed beyond any fine-tune and is refused rather than written.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

_LAYER = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
}
_GLOBAL = {"token_embd.weight": "embed_tokens.weight", "output_norm.weight": "norm.weight"}


class GGUFExportError(RuntimeError):
    pass


def rope_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF -> llama.cpp row order of a q or k projection (llama.cpp's ``convert_hf_to_gguf``)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _hf_tensor(name: str, lm: torch.nn.Module, lm_head: torch.nn.Module, cfg) -> np.ndarray | None:
    """The transformers weight behind GGUF tensor ``name``, in llama.cpp layout (None: unknown)."""
    if name == "output.weight":
        return lm_head.weight.detach().float().numpy()
    if name in _GLOBAL:
        return lm.state_dict()[_GLOBAL[name]].float().numpy()
    m = re.fullmatch(r"blk\.(\d+)\.(\w+)\.weight", name)
    if not m or m.group(2) not in _LAYER:
        return None
    w = lm.state_dict()[f"layers.{m.group(1)}.{_LAYER[m.group(2)]}.weight"].float().numpy()
    if m.group(2) == "attn_q":
        return rope_permute(w, cfg.num_attention_heads)
    if m.group(2) == "attn_k":
        return rope_permute(w, cfg.num_key_value_heads)
    return w


def export_gguf(model, base_gguf: str | Path, out: str | Path, tol: float = 1e-5,
                max_relative_change: float = 0.5) -> dict:
    """Write ``out``: ``base_gguf`` with every tensor that ``model`` changed replaced (F32).

    ``model``: the embedded LLaVA (LoRA merged). Returns {"replaced": [...], "kept": n}.
    """
    import gguf

    base_gguf, out = Path(base_gguf), Path(out)
    lm, lm_head = model.model.language_model, model.lm_head
    cfg = model.config.text_config
    reader = gguf.GGUFReader(str(base_gguf))
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    if arch != "llama":
        raise GGUFExportError(f"{base_gguf.name}: architecture {arch!r}; only 'llama' GGUFs are exported")
    replace: dict[str, np.ndarray] = {}
    kept = 0
    for t in reader.tensors:
        hf = _hf_tensor(t.name, lm, lm_head, cfg)
        if hf is None:
            raise GGUFExportError(f"{base_gguf.name}: no transformers weight for GGUF tensor {t.name}")
        base = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1, *hf.shape[1:]) if hf.ndim > 1 \
            else gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)
        if hf.shape[0] > base.shape[0]:  # added tokens (<image>): never fed to llama.cpp by id
            hf = hf[: base.shape[0]]
        if hf.shape != base.shape:
            raise GGUFExportError(f"{t.name}: transformers shape {hf.shape} != GGUF {base.shape}")
        if np.abs(hf - base).max() > tol:
            rel = float(np.linalg.norm(hf - base) / (np.linalg.norm(base) + 1e-12))
            if rel > max_relative_change:  # a fine-tune nudges weights; a layout error scrambles them
                raise GGUFExportError(f"{t.name} changed by {rel:.0%} of its norm: not a fine-tune of this "
                                      f"GGUF (or a layout mismatch); nothing written")
            replace[t.name] = np.ascontiguousarray(hf, dtype=np.float32)
        else:
            kept += 1
    tmp = out.with_suffix(".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(tmp), arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    for t in reader.tensors:
        if t.name in replace:
            w = replace[t.name]
            writer.add_tensor_info(t.name, w.shape, w.dtype, w.nbytes, gguf.GGMLQuantizationType.F32)
        else:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(replace.get(t.name, t.data), tensor_endianess=reader.endianess)
    writer.close()
    tmp.replace(out)
    logger.info("wrote %s: %d tensors replaced (F32), %d kept", out, len(replace), kept)
    return {"replaced": sorted(replace), "kept": kept}
