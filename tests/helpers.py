"""Test doubles and tiny catalogs shared by the tests (imported explicitly, not fixtures)."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
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


def copy_catalog_rows(rows: list[dict], source_csv: Path, folder: Path) -> Path:
    """``rows`` of ``source_csv`` as a catalog of their own in ``folder``, images copied (a
    symlink out of the catalog folder would be refused, by design)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for r in rows:
        shutil.copyfile(source_csv.parent / r["image"], folder / r["image"])
    path = folder / "products.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
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


class ColourImageEncoder:
    """Mean RGB of non-white pixels + aspect of the dark area: a tiny, honest image feature."""

    name, dim = "mean-colour", 4

    def encode(self, images):
        out = []
        for im in images:
            a = np.asarray(im, np.float32) / 255
            fg = a[(1 - a).max(-1) > 0.1]
            rows = ((1 - a).max(-1) > 0.1).any(1).mean()
            out.append(np.concatenate([fg.mean(0) if len(fg) else np.ones(3), [rows]]))
        return torch.tensor(np.array(out), dtype=torch.float32)


SHOP_TYPES = (("Tshirts", "shirt", "Apparel"), ("Casual Shoes", "shoe", "Footwear"), ("Sports Shoes", "shoe", "Footwear"),
              ("Formal Shoes", "shoe", "Footwear"), ("Watches", "shoe", "Accessories"))


def toy_shop_catalog(folder: Path) -> Path:
    """40 products: 4 colours x 5 article types x (Men, Women), prices 10..88, with images."""
    rows, images = [], {}
    n = 0
    for colour in COLOURS:
        for kind, shape, master in SHOP_TYPES:
            for gender in ("Men", "Women"):
                n += 1
                pid = f"s{n}"
                rows.append({"id": pid, "title": f"Brand {gender} {colour} {kind} {n}", "gender": gender,
                             "master_category": master, "article_type": kind, "base_colour": colour,
                             "usage": "Sports" if kind == "Sports Shoes" else "Casual",
                             "price": f"{10 + (n * 37) % 79:.2f}", "image": f"images/{pid}.png"})
                images[pid] = shirt_image(colour, shape)
    return write_catalog(folder, rows, images)


def toy_encoder():
    from adapters.alignment import AlignmentAdaptor
    from adapters.config import AlignmentConfig
    from adapters.product_encoder import ProductEncoder

    torch.manual_seed(0)
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=4, text_dim=32, shared_dim=8, image_projector="linear"))
    return ProductEncoder(ColourImageEncoder(), HashTextEncoder(32), adaptor.eval(), "toy")


def shared_client():
    """The process's in-memory Chroma (instances share one system): use unique collection names."""
    import chromadb
    from chromadb.config import Settings

    return chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False, allow_reset=True))


def toy_assistant(folder: Path, writer=None, generator=None, catalog: Path | None = None, image_limits=None,
                  describer=None, **cfg):
    """An Assistant over the 40-product toy shop, or ``catalog`` (in-memory Chroma, toy encoders)."""
    from adapters.imaging import load_image
    from assistant.claims import ClaimChecker
    from assistant import AssistantConfig, Parts, build_assistant
    from assistant.explain import Explainer
    from retrieval.catalog import read_catalog
    from retrieval.ingest import ingest, read_vocabulary
    from retrieval.reader import RequestReader
    from retrieval.search import ProductSearch
    from retrieval.store import ProductStore

    encoder = toy_encoder()
    import uuid

    store = ProductStore(shared_client(), f"shop{uuid.uuid4().hex[:8]}", encoder.fingerprint)
    ingest(read_catalog(catalog or toy_shop_catalog(folder)), store, encoder, load_image, progress=False)
    vocab = read_vocabulary(store)
    search = ProductSearch(store, encoder, RequestReader(vocab))
    limits = {"image_limits": image_limits} if image_limits is not None else {}
    parts = Parts(search, Explainer(ClaimChecker(vocab), writer), describer=describer, generator=generator, **limits)
    return build_assistant(parts, AssistantConfig(**cfg))


class ScriptedWriter:
    """A TextWriter that answers from a script: for wording-independent tests of the checks."""

    def __init__(self, explanations=None, intro: str = "Here you go."):
        self.explanations = explanations or (lambda prompt: "A great pick.")
        self.intro = intro
        self.prompts: list[str] = []

    def generate_batch(self, conversations, max_new_tokens=None, seed=None, **kwargs):
        out = []
        for conv in conversations:
            self.prompts.append(conv[-1].text)
            out.append(self.explanations(conv[-1].text))
        return out

    def stream(self, messages, images=None, max_new_tokens=None, seed=None, temperature=0.0):
        self.prompts.append(messages[-1].text)
        for word in self.intro.split(" "):
            yield word + " "


class ParrotWriter(ScriptedWriter):
    """The worst model: repeats its whole prompt (titles, facts, instructions) as its answer."""

    def __init__(self):
        super().__init__(lambda prompt: prompt)

    def stream(self, messages, images=None, max_new_tokens=None, seed=None, temperature=0.0):
        text = " ".join(m.text for m in messages)
        for word in text.split(" "):
            yield word + " "
