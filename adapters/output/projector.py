"""The learned output path: LLM hidden states at an image request -> diffusion ``prompt_embeds``.

As in GILL / NExT-GPT, a small trained module maps the LLM's last hidden states for the
request text to the diffusion model's text-conditioning space, shaped like the pipeline's
text-encoder output: ``(batch, num_tokens, cross_attention_dim)``. Layout: each LLM token is
projected to the conditioning width by :func:`adapters.projectors.build_projector`
(``mlp2x_gelu`` by default); ``num_tokens`` learned queries, each offset by the masked mean
of the projected tokens, cross-attend to them; a feed-forward block and a final LayerNorm
(the CLIP text encoder also ends in one) give the output tokens. Trained by
``finetune/train_output_projector.py`` to match the text encoder's embeddings of the same
captions (MSE + cosine).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from adapters.config import ProjectorConfig, check_projector_type
from adapters.projectors import build_projector

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "output_projector.safetensors"
CONFIG_FILE = "output_projector.json"
SHIPPED_OUTPUT_PROJECTOR = Path(__file__).resolve().parents[1] / "weights" / "output_projector"
LLM_REQUEST = "Imagine {desc}"  # what the LLM reads for a picture request (training and run time alike)


@dataclass(frozen=True)
class OutputProjectorConfig:
    llm_dim: int = 576  # SmolLM2-135M hidden size
    cond_dim: int = 768  # the UNet's cross_attention_dim (SD 1.x: 768, SD 2.x: 1024)
    num_tokens: int = 77  # the text encoder's sequence length
    projector: str = "mlp2x_gelu"
    num_heads: int = 8
    ffn_mult: int = 2

    def __post_init__(self) -> None:
        check_projector_type(self.projector)
        if min(self.llm_dim, self.cond_dim, self.num_tokens, self.num_heads, self.ffn_mult) <= 0:
            raise ValueError("OutputProjectorConfig: all sizes must be positive")
        if self.cond_dim % self.num_heads:
            raise ValueError(f"OutputProjectorConfig: cond_dim {self.cond_dim} is not divisible by num_heads {self.num_heads}")
        if self.projector == "identity" and self.llm_dim != self.cond_dim:
            raise ValueError("OutputProjectorConfig: 'identity' needs llm_dim == cond_dim")


class OutputProjector(nn.Module):
    def __init__(self, cfg: OutputProjectorConfig):
        super().__init__()
        self.config = cfg
        d = cfg.cond_dim
        self.proj = build_projector(ProjectorConfig(type=cfg.projector, in_dim=cfg.llm_dim, out_dim=d))
        self.queries = nn.Parameter(torch.randn(cfg.num_tokens, d) * 0.02)
        self.attn = nn.MultiheadAttention(d, cfg.num_heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, cfg.ffn_mult * d), nn.GELU(), nn.Linear(cfg.ffn_mult * d, d))
        self.norm_out = nn.LayerNorm(d)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, llm_dim) hidden states [+ (B, T) mask, 1 = real token] -> (B, num_tokens, cond_dim)."""
        if hidden.dim() != 3 or hidden.shape[-1] != self.config.llm_dim:
            raise ValueError(f"expected hidden states (batch, tokens, {self.config.llm_dim}); got {tuple(hidden.shape)}")
        mem = self.proj(hidden)
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], dtype=torch.bool, device=hidden.device)
        keep = attention_mask.bool()
        pooled = (mem * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True).clamp(min=1)
        q = self.queries.unsqueeze(0) + pooled.unsqueeze(1)
        att, _ = self.attn(q, mem, mem, key_padding_mask=~keep, need_weights=False)
        x = self.norm1(q + att)
        return self.norm_out(x + self.ffn(x))


def embedding_loss(pred: torch.Tensor, target: torch.Tensor, mse_weight: float = 1.0, cos_weight: float = 1.0):
    """(loss, mean per-token cosine): MSE plus (1 - cosine) over every output token."""
    cos = F.cosine_similarity(pred, target, dim=-1).mean()
    loss = mse_weight * F.mse_loss(pred, target) + cos_weight * (1 - cos)
    return loss, cos


@torch.no_grad()
def llm_request_states(model, tokenizer, texts: list[str], max_length: int = 64, layer: int = -1,
                       device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The LLM's hidden states (layer ``layer``) over each request text, right-padded: (B, T, H), (B, T)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    enc = tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=max_length)
    enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    out = model(**enc, output_hidden_states=True)
    return out.hidden_states[layer].float(), enc["attention_mask"]


@torch.no_grad()
def text_encoder_targets(tokenizer, text_encoder, texts: list[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """What the diffusion pipeline conditions on: the text encoder's last hidden state, padded to max length."""
    enc = tokenizer(list(texts), padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True, return_tensors="pt")
    return text_encoder(enc.input_ids.to(device)).last_hidden_state.float()


def save_output_projector(model: OutputProjector, folder: str | Path, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps({"config": asdict(model.config), **(extra or {})}, indent=2) + "\n")
    return folder


def projector_meta(folder: str | Path) -> dict:
    """The saved projector's ``output_projector.json`` (its config, target and LLM); a clear
    error when ``folder`` is not a trained projector."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"{folder} is not a trained output projector (needs {CONFIG_FILE} and {WEIGHTS_FILE}); "
                                "train one with `shopassist train-output-projector`")
    return json.loads((folder / CONFIG_FILE).read_text())


def load_output_projector(folder: str | Path, device: str | torch.device = "cpu") -> OutputProjector:
    """A trained projector saved by :func:`save_output_projector`; clear errors for a bad folder."""
    from safetensors.torch import load_file

    model = OutputProjector(OutputProjectorConfig(**projector_meta(folder)["config"]))
    model.load_state_dict(load_file(str(Path(folder) / WEIGHTS_FILE)), strict=True)
    return model.to(device).eval()


class LLMPromptEncoder:
    """Descriptions -> ``prompt_embeds`` through the language model and the trained output
    projector: the embedded generator's text side with ``GENERATION_TEXT_SIDE=llm``. The LLM
    (:mod:`adapters.loading.llm_states`) and the projector load on first use; a folder that
    is not a trained projector, or a ``tiny`` test LLM's projector, is refused at once."""

    def __init__(self, folder: str | Path = SHIPPED_OUTPUT_PROJECTOR, states=None):
        self.folder = Path(folder)
        meta = projector_meta(self.folder)
        if meta.get("llm", "smollm2") != "smollm2":
            raise ValueError(f"{self.folder} was trained on the {meta.get('llm')!r} test LLM, not SmolLM2")
        self._states = states
        self._projector: OutputProjector | None = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._projector is None:
                if self._states is None:
                    from adapters.loading.llm_states import load_token_states

                    self._states = load_token_states()
                self._projector = load_output_projector(self.folder)
            return self._states, self._projector

    @torch.no_grad()
    def __call__(self, descriptions: list[str]) -> torch.Tensor:
        states, projector = self._load()
        hidden, mask = states([LLM_REQUEST.format(desc=d) for d in descriptions])
        return projector(hidden, mask)
