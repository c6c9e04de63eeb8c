"""Test doubles and tiny catalogs shared by the tests (imported explicitly, not fixtures)."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

COLOURS = {"Red": (220, 30, 30), "Blue": (30, 60, 220), "Black": (15, 15, 15), "Green": (30, 170, 60)}


class HashTextEncoder:
    """Bag-of-words hashed into ``dim`` buckets, L2-normalised: deterministic and model-free."""

    def __init__(self, dim: int = 64):
        self.dim, self.name = dim, f"hash-text-{dim}"

    def encode(self, texts):
        out = torch.zeros(len(texts), self.dim)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                out[i, int(hashlib.sha256(w.encode()).hexdigest()[:8], 16) % self.dim] += 1.0
        return torch.nn.functional.normalize(out + 1e-6, dim=-1)


def write_catalog(folder: Path, rows: list[dict], images: dict[str, Image.Image] | None = None) -> Path:
    """Write products.csv (+ images/<id>.png) into ``folder``."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for pid, im in (images or {}).items():
        im.save(folder / "images" / f"{pid}.png")
    path = folder / "products.csv"
    fields = ["id", "title", "gender", "master_category", "sub_category", "article_type", "base_colour", "usage",
              "price", "image"]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})
    return path


def shirt_image(colour: str, shape: str = "shirt") -> Image.Image:
    """A 60x80 catalog-like shot: a coloured shape on white."""
    im = Image.new("RGB", (60, 80), (255, 255, 255))
    px = im.load()
    for y in range(80):
        for x in range(60):
            inside = (15 <= x < 45 and 15 <= y < 70) if shape == "shirt" else (5 <= x < 55 and 50 <= y < 70)
            if inside:
                px[x, y] = COLOURS[colour]
    return im


def toy_catalog(folder: Path) -> Path:
    """16 products: 4 colours x (shirts, shoes) x (Men, Women), with images."""
    rows, images = [], {}
    n = 0
    for colour in COLOURS:
        for kind, shape in (("Tshirts", "shirt"), ("Casual Shoes", "shoe")):
            for gender in ("Men", "Women"):
                n += 1
                pid = f"p{n}"
                rows.append({"id": pid, "title": f"Brand {gender} {colour} {kind}", "gender": gender,
                             "article_type": kind, "base_colour": colour, "usage": "Casual",
                             "price": str(10 + 3 * n), "image": f"images/{pid}.png"})
                images[pid] = shirt_image(colour, shape)
    return write_catalog(folder, rows, images)


def random_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
