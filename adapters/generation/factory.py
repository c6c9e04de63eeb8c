"""Pick the generator: a local diffusers checkpoint, a remote server, or the offline compositor."""

from __future__ import annotations

import logging

from adapters.generation.base import ImageGenerator

logger = logging.getLogger(__name__)


def make_generator(checkpoint: str | None = None, remote_url: str | None = None, *, device: str = "auto",
                   tiny: bool = False, progress: bool = True, timeout_s: float = 120.0,
                   embedded: bool = True, text_side: str = "prompt") -> ImageGenerator:
    """``checkpoint`` (a diffusers folder) > ``remote_url`` > the embedded catalog model (imagine)
    with the compositor (try-on, in-room) > the compositor alone (``embedded=False``, or no shipped
    weights). ``tiny``: the random-init test pipeline (noise pictures; for trying the diffusers
    path without weights). ``text_side`` of the embedded model: "prompt" (its MiniLM reads the
    prompt) or "llm" (SmolLM2's states through the shipped output projector)."""
    if text_side not in ("prompt", "llm"):
        raise ValueError(f"text_side {text_side!r} must be 'prompt' or 'llm'")
    if sum(bool(x) for x in (checkpoint, remote_url, tiny)) > 1:
        raise ValueError("choose one image backend: a checkpoint folder, a remote URL, or the tiny test pipeline")
    if checkpoint or tiny:
        from adapters.generation.diffusers_backend import DiffusersGenerator
        from adapters.loading.diffusion import build_tiny_pipeline

        if tiny:
            return DiffusersGenerator(build_tiny_pipeline(), progress=progress)
        return DiffusersGenerator.from_folder(checkpoint, device, progress=progress)
    if remote_url:
        from adapters.generation.remote import RemoteConfig, RemoteGenerator

        return RemoteGenerator(RemoteConfig(remote_url, timeout_s))
    from adapters.generation.composite import CompositeGenerator
    from adapters.generation.embedded import EMBEDDED_PIPELINE, EmbeddedGenerator

    if embedded and (EMBEDDED_PIPELINE / "model_index.json").is_file():
        from adapters.output.projector import SHIPPED_OUTPUT_PROJECTOR

        return EmbeddedGenerator(device=device, progress=progress, timeout_s=timeout_s,
                                 output_projector=SHIPPED_OUTPUT_PROJECTOR if text_side == "llm" else None)
    return CompositeGenerator()
