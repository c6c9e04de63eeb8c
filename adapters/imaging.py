"""Safe image input: every image the project reads comes through :func:`load_image`.

Sizes are checked before any pixel is decoded (decompression bombs, huge uploads), the
result is always RGB, and every failure is an :class:`ImageError` naming the source and
the reason. Preprocessing uses PIL and numpy only (no torchvision, see README).
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

logger = logging.getLogger(__name__)

# Truncated files must fail loudly, not decode into half-grey pictures.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(ValueError):
    """An image could not be used. The message names the source and the reason."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class ImageLimits:
    """Bounds applied before decoding. Defaults fit phone photos and catalog shots."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 12_000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.max_side <= 0:
            raise ValueError("ImageLimits: all limits must be positive")


DEFAULT_LIMITS = ImageLimits()
ImageSource = str | os.PathLike | bytes | Image.Image


def load_image(
    src: ImageSource, limits: ImageLimits = DEFAULT_LIMITS, *, name: str | None = None
) -> Image.Image:
    """Open ``src`` (path, raw bytes or PIL image) as a fully decoded RGB image.

    Raises:
        ImageError: missing file, too many bytes, not an image, too many pixels, a side
            over the limit, or truncated/corrupt data.
    """
    if isinstance(src, Image.Image):
        label = name or "<image>"
        _check_dims(label, src.size, limits)
        return _to_rgb(src)
    if isinstance(src, (bytes, bytearray)):
        label = name or "<uploaded bytes>"
        if len(src) > limits.max_bytes:
            raise ImageError(label, f"{len(src)} bytes is over the {limits.max_bytes}-byte limit")
        if not src:
            raise ImageError(label, "empty file")
        data = bytes(src)
    else:
        path = Path(src)
        label = name or str(path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ImageError(label, "file not found") from None
        except OSError as exc:
            raise ImageError(label, f"cannot read file ({exc.strerror})") from None
        if not path.is_file():
            raise ImageError(label, "not a regular file")
        if size > limits.max_bytes:
            raise ImageError(label, f"{size} bytes is over the {limits.max_bytes}-byte limit")
        if size == 0:
            raise ImageError(label, "empty file")
        data = path.read_bytes()
    return _decode(data, label, limits)


def _decode(data: bytes, label: str, limits: ImageLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_dims(label, img.size, limits)  # header only: nothing decoded yet
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(label, f"decompression bomb refused ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(label, "not an image file PIL can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(label, f"corrupt or truncated image ({exc})") from None
    return _to_rgb(img)


def _check_dims(label: str, size: tuple[int, int], limits: ImageLimits) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageError(label, f"invalid size {w}x{h}")
    if max(w, h) > limits.max_side:
        raise ImageError(label, f"{w}x{h} has a side over the {limits.max_side}-pixel limit")
    if w * h > limits.max_pixels:
        raise ImageError(label, f"{w}x{h} is over the {limits.max_pixels}-pixel limit")


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency flattened onto white (catalog shots are on white)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def fit_to_canvas(img: Image.Image, size: tuple[int, int], fill: int = 255) -> Image.Image:
    """Resize keeping the aspect ratio and pad to ``size`` (width, height) with ``fill``."""
    w, h = size
    scale = min(w / img.width, h / img.height)
    nw, nh = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    resized = img.resize((nw, nh), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (w, h), (fill, fill, fill))
    canvas.paste(resized, ((w - nw) // 2, (h - nh) // 2))
    return canvas


def to_float_array(img: Image.Image) -> np.ndarray:
    """HWC float32 in [0, 1]."""
    return np.asarray(img, dtype=np.float32) / 255.0
