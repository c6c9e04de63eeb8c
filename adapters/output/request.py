"""The image-generation request: one frozen, validated, JSON-serialisable record.

Field names map one-to-one to diffusers pipeline keyword arguments (``prompt``,
``negative_prompt``, ``num_inference_steps``, ``guidance_scale``, ``width``, ``height``,
``strength``, ``prompt_embeds``); ``seed`` becomes a ``torch.Generator`` in the diffusers
backend. The image inputs are paths: ``product_image`` (the catalog shot of the product),
``photo`` (the shopper's photo for ``try_on``, the room photo for ``in_room``, an optional
starting picture for ``imagine``: "imagine this in green" runs image-to-image from it) and an
optional ``mask`` (white = region to change) or placement ``box`` ``(x0, y0, x1, y1)`` in
photo pixels. This module imports neither torch nor diffusers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

import numpy as np

logger = logging.getLogger(__name__)

GenerationMode = Literal["try_on", "in_room", "imagine"]
GENERATION_MODES: tuple[str, ...] = get_args(GenerationMode)
NEEDS_IMAGES = ("try_on", "in_room")

MIN_SIDE, MAX_SIDE = 64, 2048
MAX_STEPS = 150
MAX_GUIDANCE = 30.0
MAX_PROMPT_CHARS = 2000


class RequestError(ValueError):
    """A generation request that cannot be honoured; the message says what to fix."""


@dataclass(frozen=True)
class ImageGenRequest:
    mode: GenerationMode
    prompt: str = ""
    negative_prompt: str = ""
    product_image: str | None = None
    photo: str | None = None
    mask: str | None = None
    box: tuple[int, int, int, int] | None = None
    seed: int = 0
    width: int = 512
    height: int = 512
    num_inference_steps: int = 25
    guidance_scale: float = 7.5
    strength: float = 0.75  # img2img / inpainting: how much of the photo may change
    product_id: str | None = None
    article_type: str | None = None  # placement hint for the compositor (tops on the torso, shoes at the feet)
    # (batch, tokens, cross_attention_dim) float array or tensor from the output projector
    prompt_embeds: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in GENERATION_MODES:
            raise RequestError(f"unknown mode {self.mode!r}: use one of {', '.join(GENERATION_MODES)}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not MIN_SIDE <= v <= MAX_SIDE or v % 8:
                raise RequestError(f"{name} {v!r} must be a multiple of 8 in {MIN_SIDE}..{MAX_SIDE}")
        steps = self.num_inference_steps
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
            raise RequestError(f"num_inference_steps {steps!r} must be an integer in 1..{MAX_STEPS}")
        if not 0.0 <= float(self.guidance_scale) <= MAX_GUIDANCE:
            raise RequestError(f"guidance_scale {self.guidance_scale!r} must be in 0..{MAX_GUIDANCE:g}")
        if not 0.0 < float(self.strength) <= 1.0:
            raise RequestError(f"strength {self.strength!r} must be in (0, 1]")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise RequestError(f"seed {self.seed!r} must be a non-negative integer")
        for name in ("prompt", "negative_prompt"):
            if len(getattr(self, name)) > MAX_PROMPT_CHARS:
                raise RequestError(f"{name} is over {MAX_PROMPT_CHARS} characters")
        if self.mode in NEEDS_IMAGES:
            what = "your photo" if self.mode == "try_on" else "a photo of the room"
            if not self.product_image:
                raise RequestError(f"{self.mode} needs the product's reference image (product_image)")
            if not self.photo:
                raise RequestError(f"{self.mode} needs {what} (photo)")
        elif not self.prompt.strip() and self.prompt_embeds is None:
            raise RequestError("imagine needs a description (prompt) or prompt_embeds")
        if self.mask and self.box:
            raise RequestError("give either a mask or a placement box, not both")
        if (self.mask or self.box) and not self.photo:
            raise RequestError("a mask or placement box needs a photo to apply to")
        if self.box is not None:
            object.__setattr__(self, "box", _check_box(self.box))
        if self.prompt_embeds is not None:
            shape = tuple(getattr(self.prompt_embeds, "shape", ()))
            if len(shape) != 3 or min(shape) < 1:
                raise RequestError(f"prompt_embeds must be (batch, tokens, dim); got shape {shape}")

    # -- diffusers ---------------------------------------------------------------------
    def diffusers_kwargs(self) -> dict[str, Any]:
        """The keyword arguments a diffusers pipeline takes (without ``generator``/images)."""
        kw: dict[str, Any] = {
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": float(self.guidance_scale),
            "width": self.width,
            "height": self.height,
        }
        if self.prompt_embeds is not None:
            kw["prompt_embeds"] = self.prompt_embeds
        else:
            kw["prompt"] = self.prompt
            kw["negative_prompt"] = self.negative_prompt or None
        return kw

    # -- JSON --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self) if self.prompt_embeds is None else {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "prompt_embeds"}
        data["box"] = list(self.box) if self.box else None
        data["prompt_embeds"] = _embeds_to_json(self.prompt_embeds)
        return data

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImageGenRequest":
        if not isinstance(data, dict):
            raise RequestError("a request must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RequestError(f"unknown request field(s): {', '.join(unknown)}")
        data = dict(data)
        if data.get("box") is not None:
            data["box"] = tuple(data["box"])
        data["prompt_embeds"] = _embeds_from_json(data.get("prompt_embeds"))
        try:
            return cls(**data)
        except TypeError as exc:
            raise RequestError(f"bad request: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> "ImageGenRequest":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(f"request is not valid JSON ({exc})") from None
        return cls.from_dict(data)


def size_for_photo(photo_size: tuple[int, int], long_side: int = 512) -> tuple[int, int]:
    """(width, height) with the photo's aspect ratio, long side ``long_side``, multiples of 8 in range."""
    w, h = photo_size
    scale = long_side / max(w, h)
    fit = lambda v: min(MAX_SIDE, max(MIN_SIDE, int(round(v * scale / 8)) * 8))  # noqa: E731
    return fit(w), fit(h)


def _check_box(box) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in box)
    except (TypeError, ValueError):
        raise RequestError(f"box {box!r} must be four integers x0,y0,x1,y1") from None
    if min(x0, y0) < 0 or x1 <= x0 or y1 <= y0:
        raise RequestError(f"box {box!r} must have 0 <= x0 < x1 and 0 <= y0 < y1")
    return (x0, y0, x1, y1)


def _embeds_to_json(embeds) -> dict | None:
    if embeds is None:
        return None
    if hasattr(embeds, "detach"):  # a torch tensor, without importing torch
        embeds = embeds.detach().cpu().float().numpy()
    arr = np.asarray(embeds, dtype=np.float32)
    return {"shape": list(arr.shape), "dtype": "float32", "data": arr.ravel().tolist()}


def _embeds_from_json(obj) -> np.ndarray | None:
    if obj is None:
        return None
    try:
        arr = np.asarray(obj["data"], dtype=np.float32).reshape(obj["shape"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RequestError(f"prompt_embeds must be {{'shape': [...], 'data': [...]}} ({exc})") from None
    return arr
