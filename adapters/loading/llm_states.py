"""The language model's per-token hidden states over short texts: what the output projector reads.

The packaged SmolLM2-135M (the assistant's base language model, without the explanation
LoRA) run by llama.cpp in embedding mode: one vector per token after the final norm, the
same vectors as transformers' last ``hidden_states`` of the dequantised GGUF (per-token
cosine 0.999 measured here), and it loads in under a second. Where llama.cpp cannot run,
transformers computes them (dequantising the GGUF takes about 14 s on 2 cores).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import torch

from adapters.loading.mllm import SMOLLM2_GGUF, llama_cpp_available, llama_cpp_runs, load_smollm2, smollm2_folder

logger = logging.getLogger(__name__)

TokenStates = Callable[[Sequence[str]], tuple[torch.Tensor, torch.Tensor]]  # texts -> (B, T, H), (B, T) mask


def load_token_states(backend: str = "auto", n_threads: int | None = None) -> TokenStates:
    """``texts -> (hidden, mask)`` over the packaged SmolLM2: ``backend`` "llama_cpp",
    "transformers" or "auto" (llama.cpp where it runs on this machine)."""
    if backend not in ("auto", "llama_cpp", "transformers"):
        raise ValueError(f"token-states backend {backend!r} must be 'auto', 'llama_cpp' or 'transformers'")
    if backend == "llama_cpp" or (backend == "auto" and llama_cpp_available() and llama_cpp_runs()):
        return _llama_cpp_states(n_threads)
    return _transformers_states()


def _llama_cpp_states(n_threads: int | None) -> TokenStates:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2_folder() / SMOLLM2_GGUF), embedding=True, n_ctx=256,
                          pooling_type=llama_cpp.LLAMA_POOLING_TYPE_NONE, n_threads=n_threads or 1,
                          n_threads_batch=n_threads or 1, verbose=False)  # one: see MLLMConfig.n_threads
    lock = threading.Lock()  # one llama.cpp context: one call at a time

    def states(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        with lock:
            rows = [torch.tensor(llm.embed(t), dtype=torch.float32) for t in texts]
        return _padded(rows)

    return states


def _transformers_states() -> TokenStates:
    tok, lm = load_smollm2()
    lm.eval()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"

    @torch.no_grad()
    def states(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = tok(list(texts), return_tensors="pt", padding=True)
        out = lm(input_ids=enc.input_ids, attention_mask=enc.attention_mask, output_hidden_states=True)
        return out.hidden_states[-1].float(), enc.attention_mask

    return states


def _padded(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (B, T, H) and its (B, T) mask (1 = a real token)."""
    t = max(len(r) for r in rows)
    hidden = torch.zeros(len(rows), t, rows[0].shape[-1])
    mask = torch.zeros(len(rows), t, dtype=torch.long)
    for i, r in enumerate(rows):
        hidden[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return hidden, mask
