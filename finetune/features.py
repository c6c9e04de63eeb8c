"""Encoder features for catalog products, computed once and cached on disk.

The encoders are frozen while the alignment adaptor trains, so their outputs are
computed one time (with a progress bar) and reused across epochs and runs.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
from tqdm.auto import tqdm

from adapters.encoders import ImageEncoder, TextEncoder
from adapters.imaging import ImageError, load_image
from retrieval.catalog import Product

logger = logging.getLogger(__name__)


def catalog_features(image_encoder: ImageEncoder, text_encoder: TextEncoder, products: list[Product],
                     cache_dir: str | Path | None, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(image_feats, text_feats, has_image) for ``products``, cached by encoder names and ids."""
    key = hashlib.sha256(
        "|".join([image_encoder.name, text_encoder.name] + [p.content_hash() for p in products]).encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir) / f"features-{key}.pt" if cache_dir else None
    if cache and cache.is_file():
        logger.info("using cached features %s", cache)
        data = torch.load(cache, weights_only=True)
        return data["image"], data["text"], data["has_image"]
    image_feats = torch.zeros(len(products), image_encoder.dim)
    has_image = torch.zeros(len(products), dtype=torch.bool)
    for start in tqdm(range(0, len(products), batch_size), desc="image features", unit="batch"):
        batch, rows = [], []
        for i, p in enumerate(products[start:start + batch_size], start):
            try:
                batch.append(load_image(p.image) if p.image else None)
            except ImageError as exc:
                logger.warning("product %s: %s", p.id, exc)
                batch.append(None)
            if batch[-1] is not None:
                rows.append(i)
        images = [im for im in batch if im is not None]
        if images:
            image_feats[rows] = image_encoder.encode(images)
            has_image[rows] = True
    docs = [p.document() for p in products]
    text_feats = torch.cat([text_encoder.encode(docs[s:s + 512])
                            for s in tqdm(range(0, len(docs), 512), desc="text features", unit="batch")])
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"image": image_feats, "text": text_feats, "has_image": has_image}, cache)
    return image_feats, text_feats, has_image
