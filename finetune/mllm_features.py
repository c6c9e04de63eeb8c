"""Frozen-tower features for catalog images, computed once and cached on disk (fp16).

The vision tower never trains, so both stages feed the projector cached (T, D) token
features instead of pixels: on 2 CPU cores this is what makes stage 1 fit its budget.
The cache is keyed by the tower's settings and grows per product (id + image path), so
a later stage or a bigger run only computes what is missing.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
from tqdm.auto import tqdm

from adapters.imaging import ImageError
from retrieval.catalog import Product

logger = logging.getLogger(__name__)


def _tower_key(tower_cfg) -> str:
    head = f"effnet-lite0|{tower_cfg.image_height}x{tower_cfg.image_width}|hist{tower_cfg.colour_bins}"
    if tower_cfg.tower != "imagenet":  # ImageNet keeps the key its caches were written under
        head += f"|{tower_cfg.tower}"
    return hashlib.sha256(head.encode()).hexdigest()[:12]


def _item_key(p: Product) -> str:
    return f"{p.id}|{p.image}"


@torch.inference_mode()
def tower_features(model, processor, products: list[Product], cache_dir: str | Path | None,
                   batch_size: int = 32, device: torch.device | None = None, progress: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, T, D) fp16, ok (N,) bool) for ``products``; unreadable images get ok=False."""
    tower = model.model.vision_tower
    tower_cfg = tower.config
    device = device or next(tower.parameters()).device
    cache = Path(cache_dir) / f"tower-{_tower_key(tower_cfg)}.pt" if cache_dir else None
    store: dict[str, torch.Tensor | None] = {}
    if cache and cache.is_file():
        data = torch.load(cache, weights_only=True)
        store = {k: (data["features"][i] if data["ok"][i] else None) for i, k in enumerate(data["keys"])}
        logger.info("tower feature cache %s: %d items", cache, len(store))
    missing = [p for p in products if _item_key(p) not in store]
    tower.eval()
    for start in tqdm(range(0, len(missing), batch_size), desc="tower features", unit="batch",
                      disable=not progress or not missing):
        arrays, keys = [], []
        for p in missing[start:start + batch_size]:
            try:
                arrays.append(torch.from_numpy(processor.image_processor.preprocess_one(p.image)))
                keys.append(_item_key(p))
            except (ImageError, TypeError) as exc:
                logger.warning("product %s: %s", p.id, exc)
                store[_item_key(p)] = None
        if keys:
            out = tower(torch.stack(arrays).to(device)).last_hidden_state.to("cpu", torch.float16)
            store.update(zip(keys, out))
    if cache and missing:
        cache.parent.mkdir(parents=True, exist_ok=True)
        keys = list(store)
        zero = torch.zeros(tower_cfg.num_image_tokens, tower_cfg.hidden_size, dtype=torch.float16)
        torch.save({"keys": keys, "ok": torch.tensor([store[k] is not None for k in keys]),
                    "features": torch.stack([store[k] if store[k] is not None else zero for k in keys])}, cache)
    feats = torch.zeros(len(products), tower_cfg.num_image_tokens, tower_cfg.hidden_size, dtype=torch.float16)
    ok = torch.zeros(len(products), dtype=torch.bool)
    for i, p in enumerate(products):
        f = store.get(_item_key(p))
        if f is not None:
            feats[i], ok[i] = f, True
    return feats, ok
