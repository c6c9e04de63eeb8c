"""Projectors between embedding spaces, built from a string like LLaVA's ``build_vision_projector``."""

from __future__ import annotations

import logging

import torch.nn as nn
from transformers.activations import ACT2FN

from adapters.config import _MLP_RE, ProjectorConfig

logger = logging.getLogger(__name__)


class MLPProjector(nn.Module):
    """``depth`` linear layers with GELU between them (LLaVA-1.5's ``mlp2x_gelu`` at depth 2)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, depth: int):
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (depth - 1) + [out_dim]
        layers: list[nn.Module] = []
        for i in range(depth):
            if i:
                layers.append(ACT2FN["gelu"])
            layers.append(nn.Linear(dims[i], dims[i + 1]))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def build_projector(cfg: ProjectorConfig) -> nn.Module:
    """``linear``, ``identity`` or ``mlp<N>x_gelu``; anything else is a ValueError."""
    if cfg.type == "linear":
        return nn.Linear(cfg.in_dim, cfg.out_dim)
    if cfg.type == "identity":
        return nn.Identity()
    match = _MLP_RE.match(cfg.type)
    if match:
        return MLPProjector(cfg.in_dim, cfg.hidden_dim or cfg.out_dim, cfg.out_dim, int(match.group(1)))
    raise ValueError(f"unknown projector type {cfg.type!r}")
