"""The adaptor folder the fine-tuning scripts write and the loader reads.

Layout: ``mllm_adapter.json`` (an :class:`AdapterManifest`), ``projector.safetensors``
(stage 1) and, after stage 2, ``lora/`` (a peft ``save_pretrained`` folder holding the
LoRA weights and the projector as ``modules_to_save``). Loading follows the manifest,
never the folder's name.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file, save_file

from adapters.mllm.configuration_effnet import EffnetVisionConfig

logger = logging.getLogger(__name__)

MANIFEST = "mllm_adapter.json"
PROJECTOR_FILE = "projector.safetensors"
LORA_DIR = "lora"


@dataclass(frozen=True)
class AdapterManifest:
    stage: Literal["projector", "lora"]
    base: str = "embedded"
    image_height: int = 160
    image_width: int = 128
    colour_bins: int = 4
    format: int = 1
    tower: str = "imagenet"  # the vision tower's weights the adaptors were trained on

    def __post_init__(self) -> None:
        if self.stage not in ("projector", "lora"):
            raise ValueError(f"adapter manifest: unknown stage {self.stage!r}")
        if self.format != 1:
            raise ValueError(f"adapter manifest: unsupported format {self.format}")

    def tower_config(self) -> EffnetVisionConfig:
        return EffnetVisionConfig(image_height=self.image_height, image_width=self.image_width,
                                  colour_bins=self.colour_bins, tower=self.tower)

    @classmethod
    def for_tower(cls, stage: str, tower: EffnetVisionConfig) -> "AdapterManifest":
        return cls(stage=stage, image_height=tower.image_height, image_width=tower.image_width,
                   colour_bins=tower.colour_bins, tower=tower.tower)


def read_manifest(folder: str | Path) -> AdapterManifest | None:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return AdapterManifest(**json.loads(path.read_text()))
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a valid adapter manifest ({exc})") from None


def write_manifest(folder: str | Path, manifest: AdapterManifest) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")


def projector_state(model) -> dict[str, torch.Tensor]:
    proj = model.model.multi_modal_projector
    return {k: v.detach().cpu().contiguous() for k, v in proj.state_dict().items()}


def save_projector(model, folder: str | Path) -> Path:
    path = Path(folder) / PROJECTOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(projector_state(model), str(path))
    return path


def load_projector(model, folder: str | Path) -> None:
    path = Path(folder) / PROJECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    state = load_file(str(path))
    proj = model.model.multi_modal_projector
    missing, unexpected = proj.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: projector weights do not fit this model (missing {missing}, unexpected {unexpected})")
    for k, v in state.items():
        if proj.state_dict()[k].shape != v.shape:
            raise ValueError(f"{path}: {k} has shape {tuple(v.shape)}, model wants {tuple(proj.state_dict()[k].shape)}")
