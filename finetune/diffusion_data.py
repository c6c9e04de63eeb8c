"""Data of the embedded generator: catalog shots at 48x64, captions from their real metadata,
and the packaged MiniLM's token states of those captions (the UNet's condition).

Everything here is computed once per run folder and cached (``cache/``): decoding 7,600 shots
and encoding their captions take a minute, training steps afterwards read tensors only.
The captions are written from the catalog's own fields (colour, article type, gender, usage)
in a few sentence shapes, wrapped in the prompt template the output adaptor writes for an
``imagine`` request, so the prompts the assistant sends at run time are the ones trained on.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from adapters.loading.diffusion import CATALOG_SIZE, CATALOG_TOKENS
from adapters.output.adaptor import IMAGINE_TEMPLATE
from retrieval.catalog import Product, split_of
from retrieval.wording import is_pair, noun_phrase, singular

logger = logging.getLogger(__name__)


def shot_array(path: str | Path, size: tuple[int, int] = CATALOG_SIZE) -> np.ndarray:
    """One catalog shot as (3, H, W) uint8, resized to ``size`` (width, height) on white."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != size:
            im = im.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1).copy()


def load_shots(products: Sequence[Product], cache: Path, name: str) -> tuple[torch.Tensor, list[Product]]:
    """(N, 3, H, W) uint8 shots of the products whose image reads, cached as ``cache/<name>.pt``."""
    file = cache / f"{name}.pt"
    by_id = {p.id: p for p in products}
    if file.is_file():
        data = torch.load(file, weights_only=True)
        if all(i in by_id for i in data["ids"]):
            return data["shots"], [by_id[i] for i in data["ids"]]
    shots, kept = [], []
    for p in tqdm(products, desc=f"decoding {name} shots", unit="shot"):
        try:
            shots.append(shot_array(p.image))
        except (OSError, ValueError) as exc:
            logger.warning("product %s: image %s skipped (%s)", p.id, p.image, exc)
            continue
        kept.append(p)
    tensor = torch.from_numpy(np.stack(shots))
    cache.mkdir(parents=True, exist_ok=True)
    torch.save({"shots": tensor, "ids": [p.id for p in kept]}, file)
    return tensor, kept


def products_of(products: Sequence[Product], split: str, limit: int | None = None) -> list[Product]:
    chosen = [p for p in products if split_of(p.id) == split and p.image]
    return chosen[:limit] if limit else chosen


def _who(p: Product) -> str:
    return f" for {p.gender.lower()}" if p.gender and p.gender.lower() != "unisex" else ""


def descriptions(p: Product) -> list[str]:
    """The product said a few ways, from its fields only (never its title: no brand or name
    for the model to learn to draw or to be asked for)."""
    colour = (p.base_colour or "").lower()
    kind = (p.article_type or "product").lower()
    noun = kind if is_pair(kind) else singular(kind)
    use = (p.usage or "").lower()
    out = [f"{noun_phrase(p)}{_who(p)}", f"{colour} {kind}{_who(p)}".strip()]
    if use and use not in ("na", "casual"):
        out.append(f"{noun_phrase(p)}{_who(p)} for {use} wear")
    if colour:
        out.append(f"{noun}{_who(p)} in {colour}")
    return out


def prompt_for(description: str) -> str:
    """The prompt the output adaptor writes for "imagine <description>"."""
    return IMAGINE_TEMPLATE.format(desc=description)


def caption_table(products: Sequence[Product]) -> tuple[list[str], list[list[int]]]:
    """(unique prompts, per product the indices of its prompts); prompt 0 is "" (the dropped condition)."""
    prompts, index, per_product = [""], {"": 0}, []
    for p in products:
        rows = []
        for d in descriptions(p):
            text = prompt_for(d)
            if text not in index:
                index[text] = len(prompts)
                prompts.append(text)
            rows.append(index[text])
        per_product.append(rows)
    return prompts, per_product


def encode_prompts(prompts: Sequence[str], tokenizer, text_encoder, batch_size: int = 256) -> torch.Tensor:
    """(N, CATALOG_TOKENS, 384) float16: what the pipeline's ``encode_prompt`` computes for each
    prompt (max-length padding, no attention mask), so training and sampling see the same states."""
    out = []
    with torch.inference_mode():
        for s in tqdm(range(0, len(prompts), batch_size), desc="encoding captions", unit="batch"):
            ids = tokenizer(list(prompts[s:s + batch_size]), padding="max_length", max_length=CATALOG_TOKENS,
                            truncation=True, return_tensors="pt").input_ids
            out.append(text_encoder(ids)[0].to(torch.float16))
    return torch.cat(out)


def sample_rows(per_product: Sequence[Sequence[int]], picks: Sequence[int], rng: random.Random,
                drop: float) -> list[int]:
    """One prompt per picked product; the empty prompt with probability ``drop`` (classifier-free guidance)."""
    return [0 if rng.random() < drop else rng.choice(per_product[i]) for i in picks]
