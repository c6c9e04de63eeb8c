"""Image generators behind one interface (:class:`ImageGenerator`).

``composite``: the offline default, a labelled compositing preview (no diffusion weights).
``diffusers_backend``: text-to-image / img2img / inpainting from a local checkpoint folder.
``remote``: an image-generation server the user already runs, over HTTP.
"""

from adapters.generation.base import GeneratedImage, GenerationError, ImageGenerator, stamp_label

__all__ = ["GeneratedImage", "GenerationError", "ImageGenerator", "stamp_label"]
