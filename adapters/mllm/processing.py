"""Images to ``pixel_values`` and prompts to token ids, with one contract: every ``<image>``
in the text becomes exactly ``num_image_tokens`` placeholder ids, and the number of
``<image>`` markers must equal the number of images (else a clear ``ValueError``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from transformers import BatchEncoding

from adapters.imaging import DEFAULT_LIMITS, ImageLimits, ImageSource, fit_to_canvas, load_image, to_float_array

logger = logging.getLogger(__name__)

IMAGE_TOKEN = "<image>"


class EffnetImageProcessor:
    """Any image (path, bytes, PIL of any mode/size within ``limits``) -> normalised (3, H, W).

    Letterboxed on white to (height, width) keeping the aspect ratio, then mapped to the
    range EfficientNet-Lite0 was trained on: ``(x*255-127)/128`` on RGB in [0, 1].
    """

    def __init__(self, height: int, width: int, limits: ImageLimits = DEFAULT_LIMITS):
        self.height, self.width, self.limits = height, width, limits

    def preprocess_one(self, image: ImageSource) -> np.ndarray:
        img = load_image(image, self.limits)  # RGB; ImageError (a ValueError) on bad input
        arr = to_float_array(fit_to_canvas(img, (self.width, self.height)))
        return ((arr * 255.0 - 127.0) / 128.0).transpose(2, 0, 1)

    def __call__(self, images: Sequence[ImageSource]) -> torch.Tensor:
        if not images:
            return torch.zeros(0, 3, self.height, self.width)
        return torch.from_numpy(np.stack([self.preprocess_one(im) for im in images]))


def count_image_markers(texts: Sequence[str], image_token: str = IMAGE_TOKEN) -> int:
    return sum(t.count(image_token) for t in texts)


def expand_image_tokens(text: str, num_image_tokens: int, image_token: str = IMAGE_TOKEN) -> str:
    """Each ``<image>`` marker becomes ``num_image_tokens`` copies of itself."""
    return text.replace(image_token, image_token * num_image_tokens)


def check_image_count(n_markers: int, n_images: int) -> None:
    if n_markers and not n_images:
        raise ValueError(f"the prompt has {n_markers} {IMAGE_TOKEN} marker(s) but no image was given")
    if n_images and not n_markers:
        raise ValueError(f"{n_images} image(s) given but the prompt has no {IMAGE_TOKEN} marker")
    if n_markers != n_images:
        raise ValueError(f"the prompt has {n_markers} {IMAGE_TOKEN} marker(s) but {n_images} image(s) were given")


class MLLMProcessor:
    """Tokenizer + image processor for the embedded model (the LlavaProcessor contract)."""

    def __init__(self, tokenizer, image_processor: EffnetImageProcessor, num_image_tokens: int,
                 image_token: str = IMAGE_TOKEN):
        if image_token not in tokenizer.get_vocab():
            raise ValueError(f"tokenizer has no {image_token!r} token; add it before building the processor")
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.num_image_tokens = num_image_tokens
        self.image_token = image_token
        self.image_token_id = tokenizer.convert_tokens_to_ids(image_token)

    def __call__(self, text: str | Sequence[str], images: Sequence[ImageSource] | None = None,
                 return_tensors: str = "pt", padding: bool = True, add_special_tokens: bool = False) -> BatchEncoding:
        texts = [text] if isinstance(text, str) else list(text)
        images = list(images or [])
        check_image_count(count_image_markers(texts, self.image_token), len(images))
        expanded = [expand_image_tokens(t, self.num_image_tokens, self.image_token) for t in texts]
        enc = self.tokenizer(expanded, return_tensors=return_tensors, padding=padding,
                             add_special_tokens=add_special_tokens)
        got = int((enc["input_ids"] == self.image_token_id).sum())
        if got != len(images) * self.num_image_tokens:  # e.g. the tokenizer merged the marker
            raise ValueError(f"tokenised prompt has {got} image tokens, expected {len(images) * self.num_image_tokens}")
        if images:
            enc["pixel_values"] = self.image_processor(images)
        return enc

    def apply_chat_template(self, conversation: list[dict], add_generation_prompt: bool = True,
                            tokenize: bool = False) -> str:
        """HF-style messages (content: str or list of {"type": "text"|"image"}) -> prompt text."""
        flat = [{"role": m["role"], "content": content_to_text(m["content"], self.image_token)} for m in conversation]
        return self.tokenizer.apply_chat_template(flat, add_generation_prompt=add_generation_prompt,
                                                  tokenize=tokenize)

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def batch_decode(self, ids, skip_special_tokens: bool = True) -> list[str]:
        return self.tokenizer.batch_decode(ids, skip_special_tokens=skip_special_tokens)


def content_to_text(content: str | list[dict], image_token: str = IMAGE_TOKEN) -> str:
    """Image parts become ``<image>\\n`` (LLaVA's layout: image first, then the text)."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part.get("type") == "image":
            parts.append(image_token + "\n")
        elif part.get("type") == "text":
            parts.append(part["text"])
        else:
            raise ValueError(f"unknown content part type {part.get('type')!r}")
    return "".join(parts)
