"""A small ingestion process for the crash tests: the real ``retrieval.ingest`` into a real
persistent Chroma folder, with a model-free hashing embedder (numpy only, no torch import),
so a run starts in about a second and can be killed many times.

    python -m tests.ingest_worker CATALOG.csv STORE_DIR [--batch-size N] [--kill-after-image-writes N]

Prints ``ready`` once the store is open and before the first batch, then the report.
``--kill-after-image-writes N`` SIGKILLs the process itself right after its N-th write to the
image collection, before the matching text write: the narrowest window of a batch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sys
from dataclasses import asdict, dataclass

import numpy as np

COLLECTION = "crash"
TEXT_DIM, SHARED_DIM = 32, 8


@dataclass(frozen=True)
class ToyFingerprint:
    image_encoder: str = "mean-colour"
    text_encoder: str = f"hash-text-{TEXT_DIM}"
    alignment: str = "toy-crash"
    shared_dim: int = SHARED_DIM
    text_dim: int = TEXT_DIM

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


class HashEmbedder:
    """Deterministic in every process: hashed bag of words for text, mean colour for images, and
    fixed seeded projections into the shared space (what the store's ``Embedder`` protocol asks)."""

    def __init__(self):
        rng = np.random.default_rng(1234)
        self._text_to_shared = rng.normal(size=(TEXT_DIM, SHARED_DIM)).astype(np.float32)
        self._image_to_shared = rng.normal(size=(4, SHARED_DIM)).astype(np.float32)
        self.fingerprint = ToyFingerprint()

    @staticmethod
    def _normalise(v: np.ndarray) -> np.ndarray:
        return (v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-8)).astype(np.float32)

    def embed_texts(self, texts) -> np.ndarray:
        out = np.full((len(texts), TEXT_DIM), 1e-6, np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                out[i, int(hashlib.sha256(w.encode()).hexdigest()[:8], 16) % TEXT_DIM] += 1.0
        return self._normalise(out)

    def embed_texts_shared(self, texts) -> np.ndarray:
        return self._normalise(self.embed_texts(texts) @ self._text_to_shared)

    def embed_texts_both(self, texts) -> tuple[np.ndarray, np.ndarray]:
        text = self.embed_texts(texts)
        return text, self._normalise(text @ self._text_to_shared)

    def embed_images(self, images) -> np.ndarray:
        feats = []
        for im in images:
            a = np.asarray(im, np.float32) / 255
            mask = (1 - a).max(-1) > 0.1
            fg = a[mask]
            feats.append(np.concatenate([fg.mean(0) if len(fg) else np.ones(3), [mask.any(1).mean()]]))
        return self._normalise(np.array(feats, np.float32) @ self._image_to_shared)


def _kill_after(collection, method: str, n: int) -> None:
    real = getattr(collection, method)
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(collection, method, wrapped)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("catalog")
    ap.add_argument("store")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--kill-after-image-writes", type=int, default=0)
    ap.add_argument("--prune", action="store_true")
    args = ap.parse_args(argv)

    from adapters.imaging import load_image
    from retrieval.catalog import read_catalog
    from retrieval.ingest import ingest
    from retrieval.store import ProductStore, StoreConfig, make_client

    embedder = HashEmbedder()
    catalog = read_catalog(args.catalog)
    store = ProductStore(make_client(StoreConfig(path=args.store)), COLLECTION, embedder.fingerprint)
    if args.kill_after_image_writes:
        _kill_after(store.image, "upsert", args.kill_after_image_writes)
    print("ready", flush=True)
    report = ingest(catalog, store, embedder, load_image, batch_size=args.batch_size, prune=args.prune,
                    progress=False, write_rows=args.batch_size)  # a write per batch: many kill windows
    print(report.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
