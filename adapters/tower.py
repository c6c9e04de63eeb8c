"""The catalog-tuned EfficientNet-Lite0 tower: ImageNet weights with the later blocks
fine-tuned on catalog photos to tell article type, colour, gender and usage apart.

ImageNet features are nearly colour-blind and know little about garments; both the
retrieval encoder and the LLaVA vision tower read this tower instead. Only the tuned
part is saved (``tower.safetensors``: blocks ``>= train_from_block``, the head conv and
its BatchNorm, plus the attribute heads), beside ``config.json``. :func:`tower_id`
hashes the weights, so stores and MLLM adaptors record exactly which tower made them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "tower.safetensors"
CONFIG_NAME = "config.json"
HEAD_PREFIX = "heads."


@dataclass(frozen=True)
class TowerConfig:
    """What a saved tower is: where tuning starts and the classes of each attribute head."""

    train_from_block: int
    classes: dict[str, list[str]]  # attribute -> class names, in head output order
    base: str = "efficientnet-lite0 (packaged ImageNet weights)"

    def __post_init__(self) -> None:
        if not 0 <= self.train_from_block <= 16:
            raise ValueError("TowerConfig: train_from_block must be in 0..16")


def tuned_prefixes(train_from_block: int) -> tuple[str, ...]:
    """State-dict key prefixes of the tuned part of the backbone."""
    return tuple(f"_blocks.{i}." for i in range(train_from_block, 16)) + ("_conv_head.", "_bn1.")


def run_prefix(backbone: nn.Module, x: torch.Tensor, upto: int) -> torch.Tensor:
    """Stem and blocks ``[0, upto)`` (the frozen part)."""
    x = backbone._swish(backbone._bn0(backbone._conv_stem(x)))
    for idx in range(upto):
        x = backbone._blocks[idx](x, drop_connect_rate=_drop_rate(backbone, idx))
    return x


def run_suffix(backbone: nn.Module, x: torch.Tensor, start: int) -> torch.Tensor:
    """Blocks ``[start, 16)`` and the head: the rest of ``extract_features``."""
    for idx in range(start, len(backbone._blocks)):
        x = backbone._blocks[idx](x, drop_connect_rate=_drop_rate(backbone, idx))
    return backbone._swish(backbone._bn1(backbone._conv_head(x)))


def _drop_rate(backbone: nn.Module, idx: int) -> float | None:
    rate = backbone._global_params.drop_connect_rate
    return rate * float(idx) / len(backbone._blocks) if rate else None


class AttributeHeads(nn.Module):
    """One linear classifier per attribute over the pooled 1280-d feature."""

    def __init__(self, classes: dict[str, list[str]], dim: int = 1280, dropout: float = 0.2):
        super().__init__()
        self.classes = classes
        self.drop = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({a: nn.Linear(dim, len(c)) for a, c in classes.items()})

    def forward(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.drop(pooled)
        return {a: head(x) for a, head in self.heads.items()}


def save_tower(backbone: nn.Module, heads: AttributeHeads, cfg: TowerConfig, out: str | Path,
               extra: dict | None = None) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prefixes = tuned_prefixes(cfg.train_from_block)
    state = {k: v for k, v in backbone.state_dict().items() if k.startswith(prefixes)}
    state.update({HEAD_PREFIX + k: v for k, v in heads.heads.state_dict().items()})
    # fp16 on disk keeps the committed file small; loading casts back to the model's dtype
    state = {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()).contiguous()
             for k, v in state.items()}
    save_file(state, str(out / WEIGHTS_NAME))
    (out / CONFIG_NAME).write_text(json.dumps({**asdict(cfg), **(extra or {})}, indent=2) + "\n")
    return out


def read_tower_config(folder: str | Path) -> TowerConfig:
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not (folder / WEIGHTS_NAME).is_file() or not path.is_file():
        raise FileNotFoundError(
            f"tuned tower folder {folder} needs {WEIGHTS_NAME} and {CONFIG_NAME}; "
            "train one with `shopassist train-tower` or set the tower to none"
        )
    data = json.loads(path.read_text())
    return TowerConfig(train_from_block=data["train_from_block"], classes=data["classes"], base=data.get("base", ""))


def apply_tower(backbone: nn.Module, folder: str | Path) -> TowerConfig:
    """Overwrite the tuned part of an ImageNet backbone with the weights in ``folder``."""
    cfg = read_tower_config(folder)
    state = load_file(str(Path(folder) / WEIGHTS_NAME))
    tuned = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIX)}
    expected = {k for k in backbone.state_dict() if k.startswith(tuned_prefixes(cfg.train_from_block))}
    if set(tuned) != expected:
        missing, extra = sorted(expected - set(tuned))[:3], sorted(set(tuned) - expected)[:3]
        raise ValueError(f"tuned tower {folder} does not fit EfficientNet-Lite0 (missing {missing}, unexpected {extra})")
    backbone.load_state_dict(tuned, strict=False)
    return cfg


def load_heads(folder: str | Path) -> AttributeHeads:
    cfg = read_tower_config(folder)
    state = load_file(str(Path(folder) / WEIGHTS_NAME))
    heads = AttributeHeads(cfg.classes)
    heads.heads.load_state_dict({k[len(HEAD_PREFIX):]: v for k, v in state.items() if k.startswith(HEAD_PREFIX)})
    return heads.eval()


def tower_id(folder: str | Path | None) -> str:
    """``imagenet`` for the untouched backbone, else a short hash of the tuned weights."""
    if folder is None:
        return "imagenet"
    path = Path(folder) / WEIGHTS_NAME
    if not path.is_file():
        read_tower_config(folder)  # raises the explanatory error
    return "tuned-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
