"""The offline default: the embedded catalog model imagines, the compositor shows real products.

``imagine`` ("imagine a red t-shirt for men", "imagine this in green" with a photo) goes to
the small latent diffusion model this project trains on the catalog (``adapters/weights/
diffusion/pipeline``, loaded on first use so that starting the assistant stays light).
Its text side: the pipeline's own text encoder (the packaged MiniLM) reads the prompt; or,
given ``output_projector`` (``GENERATION_TEXT_SIDE=llm``), the learned output path: the
description goes through the language model (the packaged SmolLM2's hidden states) and the
trained output projector (``adapters/weights/output_projector``) into the UNet's ``prompt_embeds``.
``try_on`` and ``in_room`` stay composites of the real catalog picture, honestly labelled:
a 48x64 model cannot repaint a shopper's photo better than the product's own picture.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from adapters.generation.base import GeneratedImage
from adapters.generation.composite import CompositeGenerator
from adapters.output.adaptor import description_from_prompt
from adapters.output.projector import LLMPromptEncoder
from adapters.output.request import ImageGenRequest

logger = logging.getLogger(__name__)

EMBEDDED_PIPELINE = Path(__file__).resolve().parents[1] / "weights" / "diffusion" / "pipeline"


class EmbeddedGenerator:
    """Routes by mode: imagine to the catalog diffusion model, edits to the compositor."""

    catalog_only = True  # it draws the catalog's kinds of products, nothing else

    def __init__(self, folder: str | Path = EMBEDDED_PIPELINE, *, device: str = "auto", progress: bool = False,
                 compositor: CompositeGenerator | None = None, timeout_s: float = 60.0,
                 output_projector: str | Path | None = None, model=None):
        self.folder = Path(folder)
        # the learned text side (LLM states -> output projector), loaded on the first picture
        self.prompt_encoder = LLMPromptEncoder(output_projector) if output_projector is not None else None
        self.device = device
        self.progress = progress
        self.timeout_s = timeout_s
        self.compositor = compositor or CompositeGenerator()
        self.name = "embedded catalog model + composite"
        self._model = model  # a DiffusersGenerator over ``folder`` already loaded (None: load on first use)
        self._lock = threading.Lock()

    @property
    def model(self):
        """The diffusers generator over the catalog pipeline, loaded once (thread-safe)."""
        with self._lock:
            if self._model is None:
                from adapters.generation.diffusers_backend import DiffusersGenerator

                self._model = DiffusersGenerator.from_folder(str(self.folder), self.device, progress=self.progress,
                                                             timeout_s=self.timeout_s)
            return self._model

    def generate(self, request: ImageGenRequest) -> GeneratedImage:
        if request.mode == "imagine":
            if self.prompt_encoder is None or request.prompt_embeds is not None:
                return self.model.generate(request)
            embeds = self.prompt_encoder([description_from_prompt(request.prompt)]).numpy()
            result = self.model.generate(dataclasses.replace(request, prompt_embeds=embeds))
            result.extras["text_side"] = "SmolLM2 hidden states -> output projector"
            return dataclasses.replace(result, request=request)
        return self.compositor.generate(request)
