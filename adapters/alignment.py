"""The image-text alignment adaptor: CLIP-style heads that map image features and text
embeddings into one shared product space, trained with symmetric InfoNCE.

No packaged encoder aligns images with text, so this small module is what makes
"a picture like this" and "a red dress" comparable. Its weights are a safetensors file
beside a ``config.json``; :func:`alignment_id` hashes the weights so a store can record
exactly which adaptor built it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from adapters.config import AlignmentConfig, ProjectorConfig
from adapters.projectors import build_projector

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "alignment.safetensors"
CONFIG_NAME = "config.json"


class AlignmentAdaptor(nn.Module):
    """Standardise each modality's features, project, L2-normalise. ``logit_scale`` is learned."""

    def __init__(self, cfg: AlignmentConfig):
        super().__init__()
        self.config = cfg
        self.register_buffer("image_mean", torch.zeros(cfg.image_dim))
        self.register_buffer("image_std", torch.ones(cfg.image_dim))
        self.register_buffer("text_mean", torch.zeros(cfg.text_dim))
        self.register_buffer("text_std", torch.ones(cfg.text_dim))
        self.image_proj = build_projector(
            ProjectorConfig(cfg.image_projector, cfg.image_dim, cfg.shared_dim, hidden_dim=2 * cfg.shared_dim)
        )
        self.text_proj = build_projector(ProjectorConfig(cfg.text_projector, cfg.text_dim, cfg.shared_dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.init_temperature)))

    def set_feature_stats(self, image_feats: torch.Tensor, text_feats: torch.Tensor) -> None:
        """Fix the standardisation from training features (done once, before training)."""
        self.image_mean.copy_(image_feats.mean(0))
        self.image_std.copy_(image_feats.std(0).clamp_min(1e-4))
        self.text_mean.copy_(text_feats.mean(0))
        self.text_std.copy_(text_feats.std(0).clamp_min(1e-4))

    def embed_image(self, feats: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image_proj((feats - self.image_mean) / self.image_std), dim=-1)

    def embed_text(self, feats: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_proj((feats - self.text_mean) / self.text_std), dim=-1)

    def forward(self, image_feats: torch.Tensor, text_feats: torch.Tensor):
        return self.embed_image(image_feats), self.embed_text(text_feats), self.logit_scale.exp().clamp(max=100)


def clip_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, scale: torch.Tensor,
              labels: torch.Tensor | None = None, image_image_weight: float = 0.0) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of matching pairs (row i of each is one product).

    With ``labels`` (one integer class per row, e.g. article type x colour), every pair of
    the same class counts as a positive (soft targets), so two red t-shirts are not pushed
    apart; ``image_image_weight`` adds the same supervised contrast among the images.
    """
    logits = scale * image_emb @ text_emb.T
    if labels is None:
        target = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    same = (labels[:, None] == labels[None, :]).float()
    soft = same / same.sum(1, keepdim=True)
    loss = (F.cross_entropy(logits, soft) + F.cross_entropy(logits.T, soft)) / 2
    if image_image_weight:
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        ii = (scale * image_emb @ image_emb.T).masked_fill(eye, -1e4)
        others = same.masked_fill(eye, 0)
        has = others.sum(1) > 0
        if has.any():
            soft_ii = others[has] / others[has].sum(1, keepdim=True)
            loss = loss + image_image_weight * F.cross_entropy(ii[has], soft_ii)
    return loss


def save_alignment(adaptor: AlignmentAdaptor, out_dir: str | Path, extra: dict | None = None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in adaptor.state_dict().items()}, out / WEIGHTS_NAME)
    meta = {"alignment": asdict(adaptor.config), **(extra or {})}
    (out / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
    logger.info("saved alignment adaptor to %s", out)
    return out


def load_alignment(path: str | Path, map_location: str = "cpu") -> AlignmentAdaptor:
    """Load an adaptor saved by :func:`save_alignment`. Raises FileNotFoundError with a hint."""
    path = Path(path)
    if not (path / WEIGHTS_NAME).is_file() or not (path / CONFIG_NAME).is_file():
        raise FileNotFoundError(
            f"no alignment adaptor at {path} (need {WEIGHTS_NAME} and {CONFIG_NAME}); "
            "train one with `shopassist train-alignment --out DIR`"
        )
    meta = json.loads((path / CONFIG_NAME).read_text())
    cfg = AlignmentConfig(**meta["alignment"])
    adaptor = AlignmentAdaptor(cfg)
    adaptor.load_state_dict(load_file(path / WEIGHTS_NAME, device=map_location), strict=True)
    return adaptor.eval()


def read_alignment_meta(path: str | Path) -> dict:
    """The adaptor's ``config.json`` (adaptor config plus the encoders it was trained on)."""
    return json.loads((Path(path) / CONFIG_NAME).read_text())


def alignment_id(path: str | Path) -> str:
    """A short content hash of the adaptor's weights: what a store records."""
    digest = hashlib.sha256((Path(path) / WEIGHTS_NAME).read_bytes()).hexdigest()
    return digest[:16]
