"""Safe image input: every image the project reads comes through :func:`load_image`.

Sizes are checked before any pixel is decoded (decompression bombs, huge uploads), the
result is always RGB, and every failure is an :class:`ImageError` naming the source and
the reason. Preprocessing uses PIL and numpy only (no torchvision, see README).
"""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
# What uploads and catalogs use. Not every format PIL knows: EPS would run Ghostscript, and each
# rarely used decoder is attack surface.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "ICO", "PPM")  # JPEG also opens MPO
# What PIL's decoders raise on hostile data: OSError for most, the rest from header parsing
# (struct unpacking, short reads, bad tables) in some plugins.
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError,
                   ZeroDivisionError, OverflowError)
ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image
MAX_LABEL = 200  # characters of a source name kept in messages (a hostile path can be any length)


def load_image(
    src: ImageSource, limits: ImageLimits = DEFAULT_LIMITS, *, name: str | None = None
) -> Image.Image:
    """Open ``src`` (path, raw bytes, binary file object or PIL image) as a fully decoded RGB image.

    The byte limit is checked before anything is decoded: on a path's size (``os.stat``) and
    then on what is read, and at most ``max_bytes + 1`` bytes are ever read from a path or
    a file object (a file that grows after the check, a pipe, an upload stream).

    Raises:
        ImageError: missing file, too many bytes, not an image, too many pixels, a side
            over the limit, or truncated/corrupt data.
        TypeError: ``src`` is none of the above (a caller's bug, not bad input).
    """
    if isinstance(src, Image.Image):
        label = _label(name or "<image>")
        _check_dims(label, src.size, limits)
        return _to_rgb(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        label = _label(name or "<uploaded bytes>")
        size = src.nbytes if isinstance(src, memoryview) else len(src)
        if size > limits.max_bytes:
            raise ImageError(label, f"{size} bytes is over the {limits.max_bytes}-byte limit")
        data = bytes(src)
    elif hasattr(src, "read"):
        label = _label(name or getattr(src, "name", None) or "<uploaded file>")
        data = _read_capped(src, label, limits)
    elif isinstance(src, (str, os.PathLike)):
        label = _label(name or str(src))
        data = _read_path(Path(src), label, limits)
    else:
        raise TypeError(f"load_image: expected a path, bytes, a binary file or a PIL image, got {type(src).__name__}")
    if not data:
        raise ImageError(label, "empty file")
    return _decode(data, label, limits)


def _label(source: str) -> str:
    source = str(source)
    return source if len(source) <= MAX_LABEL else source[:MAX_LABEL] + "..."


def _read_path(path: Path, label: str, limits: ImageLimits) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageError(label, "file not found") from None
    except ValueError:  # a NUL byte in the path
        raise ImageError(label, "not a valid file path") from None
    except OSError as exc:
        raise ImageError(label, f"cannot read file ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(label, "not a regular file")
    if info.st_size > limits.max_bytes:
        raise ImageError(label, f"{info.st_size} bytes is over the {limits.max_bytes}-byte limit")
    try:
        with path.open("rb") as handle:
            return _read_capped(handle, label, limits)
    except OSError as exc:
        raise ImageError(label, f"cannot read file ({exc.strerror or exc})") from None


def _read_capped(handle: BinaryIO, label: str, limits: ImageLimits) -> bytes:
    """At most ``max_bytes`` bytes of ``handle``; one byte more means the limit is passed."""
    try:
        data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise ImageError(label, f"cannot read file ({exc.strerror or exc})") from None
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"load_image: {label} is not opened in binary mode (read() gave {type(data).__name__})")
    if len(data) > limits.max_bytes:
        raise ImageError(label, f"more than {limits.max_bytes} bytes, over the byte limit")
    return bytes(data)


def _decode(data: bytes, label: str, limits: ImageLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            _check_dims(label, img.size, limits)  # header only: nothing decoded yet
            img.load()
            return _to_rgb(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(label, f"decompression bomb refused ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(label, f"not an image file PIL can read (formats read here: {', '.join(FORMATS)})") from None
    except _DECODER_ERRORS as exc:
        raise ImageError(label, f"corrupt or truncated image ({type(exc).__name__}: {exc})") from None


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
