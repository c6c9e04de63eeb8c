"""Picture grids of the embedded generator, for a person to look at: VAE reconstructions
after stage 1, and the 16 fixed prompts after stage 3 (also drawn by ``shopassist eval generation``)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

# Sixteen requests written by hand for looking at, the way a shopper asks (not drawn from any split).
GRID_PROMPTS = (
    "a red t-shirt for men", "a pair of black sports shoes for men", "a blue shirt for men",
    "a black watch for men", "a pink top for women", "a yellow kurta for women", "a pair of white heels for women",
    "a brown handbag for women", "a green dress for women", "a navy blue pair of jeans for men",
    "a grey backpack", "a pair of sunglasses", "a white t-shirt for women", "a pair of brown flip flops",
    "a purple saree", "an orange casual shoe for women",
)


def _to_image(x: torch.Tensor) -> Image.Image:
    arr = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(arr)


def tile(images: list[Image.Image], cols: int, captions: list[str] | None = None, scale: int = 2) -> Image.Image:
    """Images in a grid, each scaled up ``scale`` times, with an optional caption line under each."""
    w, h = images[0].size
    w, h = w * scale, h * scale
    cap = 22 if captions else 0
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * w, rows * (h + cap)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, im in enumerate(images):
        x, y = (i % cols) * w, (i // cols) * (h + cap)
        sheet.paste(im.resize((w, h), Image.Resampling.NEAREST), (x, y))
        if captions:
            words = captions[i].removeprefix("a ").removeprefix("an ").removeprefix("pair of ")
            draw.text((x + 2, y + h + 1), words[:22], fill="black")
            draw.text((x + 2, y + h + 11), words[22:44], fill="black")
    return sheet


def reconstruction_grid(vae, x: torch.Tensor, out: Path) -> None:
    """Real ``val`` shots (top row) over their reconstructions (bottom row)."""
    with torch.no_grad():
        rec = vae(x, sample_posterior=False).sample
    tile([_to_image(a) for a in x] + [_to_image(b) for b in rec], cols=len(x), scale=3).save(out)


def sample_grid(loaded, out: Path, prompts=GRID_PROMPTS, seed: int = 0, generator=None) -> Image.Image:
    """The fixed prompts through ``loaded`` (a :class:`~adapters.loading.diffusion.LoadedDiffusion`
    of the saved pipeline folder) and the diffusers backend, or through ``generator`` (the
    assistant's own, e.g. with the LLM + output projector as its text side)."""
    from adapters.generation.diffusers_backend import DiffusersGenerator
    from adapters.output.adaptor import build_request

    gen = generator or DiffusersGenerator(loaded, progress=False, stamp=False)
    pictures = [gen.generate(build_request(f"imagine {p}", mode="imagine", seed=seed)).image for p in prompts]
    sheet = tile(pictures, cols=8, captions=list(prompts), scale=2)
    sheet.save(out)
    return sheet
