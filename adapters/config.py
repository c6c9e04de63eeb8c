"""Small typed configs for everything in ``adapters``. Validated on construction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PROJECTOR_TYPES = ("linear", "identity")
_MLP_RE = re.compile(r"^mlp(\d+)x_gelu$")

# The trained adaptor that ships with the project (see README: `shopassist train-alignment`).
DEFAULT_ALIGNMENT_DIR = str(Path(__file__).resolve().parent / "weights" / "alignment")
# The catalog-tuned image tower that ships with the project (`shopassist train-tower`).
DEFAULT_TOWER_DIR = str(Path(__file__).resolve().parent / "weights" / "tower")


def check_projector_type(kind: str) -> None:
    if kind not in PROJECTOR_TYPES and not _MLP_RE.match(kind):
        raise ValueError(
            f"unknown projector type {kind!r}: use 'linear', 'identity' or 'mlp<N>x_gelu'"
        )


@dataclass(frozen=True)
class ProjectorConfig:
    """A projector from ``in_dim`` to ``out_dim`` (LLaVA's ``mm_projector_type`` naming)."""

    type: str = "mlp2x_gelu"
    in_dim: int = 1280
    out_dim: int = 576
    hidden_dim: int | None = None  # defaults to out_dim, as in LLaVA

    def __post_init__(self) -> None:
        check_projector_type(self.type)
        if self.in_dim <= 0 or self.out_dim <= 0:
            raise ValueError("ProjectorConfig: in_dim and out_dim must be positive")
        if self.type == "identity" and self.in_dim != self.out_dim:
            raise ValueError("ProjectorConfig: 'identity' needs in_dim == out_dim")


ImageEncoderKind = Literal["efficientnet-lite0", "hf-clip"]
TextEncoderKind = Literal["sentence-transformers", "hf-clip"]


@dataclass(frozen=True)
class ImageEncoderConfig:
    """The image tower used for retrieval features.

    ``efficientnet-lite0``: packaged ImageNet weights with the later blocks replaced by the
    catalog-tuned ones in ``tower_dir`` (None: plain ImageNet), pooled 1280-d map plus a
    ``colour_bins``-cube colour histogram of the non-background pixels (ImageNet features
    are nearly colour-blind; shoppers are not). ``hf-clip``: a local CLIP/SigLIP folder.
    """

    kind: ImageEncoderKind = "efficientnet-lite0"
    path: str | None = None
    image_size: tuple[int, int] = (96, 128)  # (width, height): catalog shots are 3:4
    colour_bins: int = 4
    # images per backbone pass: 16 runs 1.9x (eager) to 2.7x (compiled) faster than 128 on 2 cores,
    # whose caches a larger pass overflows (bench/bench_ingest.py)
    batch_size: int = 16
    tower_dir: str | None = DEFAULT_TOWER_DIR

    def __post_init__(self) -> None:
        if self.kind == "hf-clip" and not self.path:
            raise ValueError("ImageEncoderConfig: kind 'hf-clip' needs path= a local checkpoint folder")
        w, h = self.image_size
        if not (32 <= w <= 1024 and 32 <= h <= 1024):
            raise ValueError(f"ImageEncoderConfig: image_size {self.image_size} out of 32..1024")
        if not 0 <= self.colour_bins <= 8:
            raise ValueError("ImageEncoderConfig: colour_bins must be in 0..8")
        if self.batch_size < 1:
            raise ValueError("ImageEncoderConfig: batch_size must be >= 1")


@dataclass(frozen=True)
class TextEncoderConfig:
    """The text encoder. Default: the packaged all-MiniLM-L6-v2 (path None)."""

    kind: TextEncoderKind = "sentence-transformers"
    path: str | None = None
    batch_size: int = 128

    def __post_init__(self) -> None:
        if self.kind == "hf-clip" and not self.path:
            raise ValueError("TextEncoderConfig: kind 'hf-clip' needs path= a local checkpoint folder")


@dataclass(frozen=True)
class AlignmentConfig:
    """The contrastive image-text alignment adaptor (two heads into one product space)."""

    image_dim: int
    text_dim: int
    shared_dim: int = 256
    image_projector: str = "mlp2x_gelu"
    text_projector: str = "linear"
    init_temperature: float = 0.07

    def __post_init__(self) -> None:
        check_projector_type(self.image_projector)
        check_projector_type(self.text_projector)
        if min(self.image_dim, self.text_dim, self.shared_dim) <= 0:
            raise ValueError("AlignmentConfig: dimensions must be positive")
        if not 0 < self.init_temperature < 1:
            raise ValueError("AlignmentConfig: init_temperature must be in (0, 1)")


@dataclass(frozen=True)
class BulkEncoding:
    """How to encode many products at once (ingestion), where throughput matters more than the
    first call's latency. Queries never use it.

    ``compile_images``: the image backbone through ``torch.compile`` (inductor, weights frozen)
    at its fixed pass size; the same fp32 arithmetic, about twice as fast on 2 cores, but the
    first batch waits for the compile. ``bf16_text``: the text
    encoder under bfloat16 autocast where the CPU computes bf16 natively (AVX512-BF16 / AMX);
    its embeddings keep a cosine of 0.9999 to fp32 (measured in bench/bench_ingest.py).
    """

    compile_images: bool = False
    bf16_text: bool = False

    def describe(self) -> str:
        parts = [name for name, on in (("compiled image backbone", self.compile_images),
                                       ("bf16 text encoder", self.bf16_text)) if on]
        return ", ".join(parts) or "eager fp32"


@dataclass(frozen=True)
class EncoderConfig:
    """Everything that decides a product embedding. Its fingerprint is stored with a store."""

    image: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    alignment_dir: str | None = DEFAULT_ALIGNMENT_DIR  # None: identity (an aligned CLIP)
    device: str = "auto"
