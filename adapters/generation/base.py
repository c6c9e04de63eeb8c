"""The generator interface and its typed result (like diffusers' ``StableDiffusionPipelineOutput``).

Every result names the backend that made it (``backend``) and carries a human-readable
``label`` that says what the image is: a composite preview is never presented as a
generated photo, and a generated image never as a photo of the real product.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from adapters.output.request import ImageGenRequest

logger = logging.getLogger(__name__)


class GenerationError(RuntimeError):
    """A generator could not make the image (backend failure, unreachable server)."""


@dataclass
class GeneratedImage:
    image: Image.Image | None  # None: this backend cannot make this kind of image (see label)
    backend: str  # "composite", "diffusers:<model>", "remote:<url>"
    label: str  # what the shopper is shown next to the image
    seed: int
    elapsed_s: float
    request: ImageGenRequest
    extras: dict = field(default_factory=dict)  # backend details (mask, placement box, pipeline)

    def save(self, path: str | Path) -> Path:
        """Write a PNG whose text chunks record the backend, the label and the request."""
        if self.image is None:
            raise GenerationError(f"nothing to save: {self.label}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = PngImagePlugin.PngInfo()
        info.add_text("backend", self.backend)
        info.add_text("label", self.label)
        info.add_text("request", json.dumps({k: v for k, v in self.request.to_dict().items()
                                             if k != "prompt_embeds"}))
        self.image.save(path, format="PNG", pnginfo=info)
        return path


@runtime_checkable
class ImageGenerator(Protocol):
    name: str

    def generate(self, request: ImageGenRequest) -> GeneratedImage: ...


def stamp_label(img: Image.Image, text: str) -> Image.Image:
    """A copy of ``img`` with ``text`` on a dark strip along the bottom edge (same size)."""
    out = img.convert("RGB").copy()
    draw = ImageDraw.Draw(out, "RGBA")
    size = max(8, min(out.height // 18, out.width // max(8, len(text) // 2 + 1), 28))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # very old Pillow
        font = ImageFont.load_default()
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    pad = max(2, size // 4)
    top = out.height - (y1 - y0) - 2 * pad
    draw.rectangle((0, top, out.width, out.height), fill=(0, 0, 0, 150))
    draw.text((pad, top + pad - y0), text, fill=(255, 255, 255, 255), font=font)
    return out
