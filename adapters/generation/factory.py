"""Pick the generator: a local diffusers checkpoint, a remote server, or the offline compositor."""

from __future__ import annotations

import logging

from adapters.generation.base import ImageGenerator

logger = logging.getLogger(__name__)


def make_generator(checkpoint: str | None = None, remote_url: str | None = None, *, device: str = "auto",
                   tiny: bool = False, progress: bool = True, timeout_s: float = 120.0,
                   embedded: bool = True) -> ImageGenerator:
    """``checkpoint`` (a diffusers folder) > ``remote_url`` > the embedded catalog model (imagine)
    with the compositor (try-on, in-room) > the compositor alone (``embedded=False``, or no shipped
    weights). ``tiny``: the random-init test pipeline (noise pictures; for trying the diffusers
    path without weights)."""
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
        return EmbeddedGenerator(device=device, progress=progress, timeout_s=timeout_s)
    return CompositeGenerator()
