"""The offline default: the embedded catalog model imagines, the compositor shows real products.

``imagine`` ("imagine a red t-shirt for men", "imagine this in green" with a photo) goes to
the small latent diffusion model this project trains on the catalog (``adapters/weights/
diffusion/pipeline``, loaded on first use so that starting the assistant stays light).
``try_on`` and ``in_room`` stay composites of the real catalog picture, honestly labelled:
a 48x64 model cannot repaint a shopper's photo better than the product's own picture.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from adapters.generation.base import GeneratedImage
from adapters.generation.composite import CompositeGenerator
from adapters.output.request import ImageGenRequest

logger = logging.getLogger(__name__)

EMBEDDED_PIPELINE = Path(__file__).resolve().parents[1] / "weights" / "diffusion" / "pipeline"


class EmbeddedGenerator:
    """Routes by mode: imagine to the catalog diffusion model, edits to the compositor."""

    catalog_only = True  # it draws the catalog's kinds of products, nothing else

    def __init__(self, folder: str | Path = EMBEDDED_PIPELINE, *, device: str = "auto", progress: bool = False,
                 compositor: CompositeGenerator | None = None, timeout_s: float = 60.0):
        self.folder = Path(folder)
        self.device = device
        self.progress = progress
        self.timeout_s = timeout_s
        self.compositor = compositor or CompositeGenerator()
        self.name = "embedded catalog model + composite"
        self._model = None
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
            return self.model.generate(request)
        return self.compositor.generate(request)
