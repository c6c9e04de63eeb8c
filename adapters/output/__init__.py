"""The output adaptor: from what the assistant says to a typed image-generation request.

``request``: the :class:`ImageGenRequest` schema (JSON round trip, validation).
``adaptor``: pure functions from a shopper's turn to a request (``parse_image_request``).
``projector``: the learned path from LLM hidden states to diffusion ``prompt_embeds``.
"""

from adapters.output.adaptor import ProductRef, build_request, detect_mode, parse_image_request
from adapters.output.request import GENERATION_MODES, GenerationMode, ImageGenRequest, RequestError

__all__ = [
    "GENERATION_MODES",
    "GenerationMode",
    "ImageGenRequest",
    "RequestError",
    "ProductRef",
    "build_request",
    "detect_mode",
    "parse_image_request",
]
