"""The one place that loads model weights. Everything else receives built objects.

``load_product_encoder`` builds the retrieval encoders; the multimodal LLM and the
diffusion pipelines have their own loaders in this package.
"""

from adapters.loading.device import resolve_device
from adapters.loading.diffusion import (
    DiffusionLoadError,
    LoadedDiffusion,
    build_tiny_pipeline,
    load_diffusion_pipeline,
)
from adapters.loading.encoders import (
    load_efficientnet_backbone,
    load_image_encoder,
    load_product_encoder,
    load_text_encoder,
)
from adapters.loading.mllm import LoadedMLLM, load_mllm, load_runner

__all__ = [
    "resolve_device",
    "load_efficientnet_backbone",
    "load_image_encoder",
    "load_text_encoder",
    "load_product_encoder",
    "load_mllm",
    "LoadedMLLM",
    "load_runner",
    "DiffusionLoadError",
    "LoadedDiffusion",
    "load_diffusion_pipeline",
    "build_tiny_pipeline",
]
