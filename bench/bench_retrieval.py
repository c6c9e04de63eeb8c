"""Retrieval benchmarks on 2 CPU cores: ingestion throughput, search latency (text, image,
composed) on the catalog store with models loaded, the same against a store of 100k
synthetic vectors, and the overhead of our search over a raw chromadb query of the same
vector. Prints the figures and writes them to JSON.

    python bench/bench_retrieval.py --store .store --json bench/results/bench_retrieval.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters.offline import apply_offline_defaults  # noqa: E402

apply_offline_defaults()  # before the model libraries are imported

import chromadb  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from assistant.services import build_search, ingest_catalog  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from retrieval.catalog import Catalog, read_catalog  # noqa: E402
from retrieval.filters import ProductFilter, to_where  # noqa: E402
from retrieval.stats import percentile  # noqa: E402
from retrieval.store import ProductStore  # noqa: E402

TARGETS = {"ingest_products_per_s": 100, "text_p50_ms": 50, "image_p50_ms": 100, "composed_p50_ms": 100}


def timed(fn, n):
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return {"n": n, "p50_ms": percentile(out, 50, 2), "p95_ms": percentile(out, 95, 2),
            "mean_ms": round(statistics.mean(out), 2)}


def bench_ingest(settings: Settings, catalog: Catalog, n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        sub = Catalog(catalog.path, catalog.products[:n])
        s = settings.model_copy(update={"store_dir": tmp})
        report = ingest_catalog(s, sub, progress=True)
        return {"products": report.added, "seconds": round(report.seconds, 2),
                "products_per_s": round(report.per_second, 1), "with_images": report.added - report.without_image}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_search(settings: Settings, catalog: Catalog, n: int) -> dict:
    service = build_search(settings)
    rng = random.Random(0)
    prods = [p for p in catalog.products if p.image]
    texts = ["red dresses for women under 40", "black casual shoes for men", "navy blue tshirts",
             "silver watches over 50", "white sports shoes", "blue jeans for men under 60", "pink handbags",
             "brown leather belts", "green kurtas for women", "sunglasses for men under 30"]
    images = [service.load_image(p.image) for p in rng.sample(prods, n)]
    service.search.search(text="warm up", k=10)
    service.search.search(image=images[0], k=10)
    return {
        "store_products": service.store.count(),
        "text": timed(lambda i: service.search.search(text=texts[i % len(texts)], k=10), n),
        "image": timed(lambda i: service.search.search(image=images[i], k=10), n),
        "composed": timed(lambda i: service.search.search(image=images[i], text="like this but in red", k=10), n),
        "note": "models loaded; image latency includes encoding the (already decoded) query image",
    }


def bench_synthetic(n_vectors: int, n_queries: int, tmp: Path) -> dict:
    """100k random vectors with catalog-like metadata: ours vs a raw chromadb query."""
    from adapters.product_encoder import EncoderFingerprint
    from retrieval.catalog import Product

    fp = EncoderFingerprint("synthetic", "synthetic", "none", 256, 384)
    client = chromadb.PersistentClient(path=str(tmp), settings=ChromaSettings(anonymized_telemetry=False))
    store = ProductStore(client, "synth", fp)
    rng = np.random.default_rng(0)
    colours, types, genders = ["Black", "White", "Blue", "Red", "Green", "Grey"], ["Tshirts", "Shirts", "Dresses",
                                                                                 "Watches", "Casual Shoes"], ["Men", "Women"]
    t0 = time.perf_counter()
    for start in tqdm(range(0, n_vectors, 2000), desc="synthetic upsert", unit="batch"):
        m = min(2000, n_vectors - start)
        prods = [Product(f"s{start + i}", f"synthetic {start + i}", gender=genders[i % 2],
                         article_type=types[(start + i) % 5], base_colour=colours[(start + i) % 6],
                         price=float(rng.integers(5, 200))) for i in range(m)]
        tv = rng.normal(size=(m, 384)).astype(np.float32)
        iv = rng.normal(size=(m, 256)).astype(np.float32)
        store.upsert(prods, tv / np.linalg.norm(tv, axis=1, keepdims=True),
                     iv / np.linalg.norm(iv, axis=1, keepdims=True), [True] * m)
    build_s = time.perf_counter() - t0
    qs = rng.normal(size=(n_queries, 256)).astype(np.float32)
    where = to_where(ProductFilter(colours=("Red",), max_price=60))
    raw = store.image  # the same collection, queried directly
    ours_plain = timed(lambda i: store.query(qs[i], space="image", where=None, k=10), n_queries)
    raw_plain = timed(lambda i: raw.query(query_embeddings=[qs[i]], n_results=10), n_queries)
    ours_f = timed(lambda i: store.query(qs[i], space="image", where=where, k=10), n_queries)
    raw_f = timed(lambda i: raw.query(query_embeddings=[qs[i]], n_results=10, where=where), n_queries)
    return {"vectors": n_vectors, "build_seconds": round(build_s, 1),
            "ours_unfiltered": ours_plain, "raw_chroma_unfiltered": raw_plain,
            "ours_filtered": ours_f, "raw_chroma_filtered": raw_f,
            "overhead_ratio_unfiltered": round(ours_plain["p50_ms"] / raw_plain["p50_ms"], 3),
            "overhead_ratio_filtered": round(ours_f["p50_ms"] / raw_f["p50_ms"], 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=".store")
    ap.add_argument("--catalog")
    ap.add_argument("--ingest-n", type=int, default=2000, help="products ingested for the throughput figure")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--synthetic", type=int, default=100_000)
    ap.add_argument("--json", default="bench/results/bench_retrieval.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    settings = Settings(**{k: v for k, v in {"store_dir": args.store, "catalog": args.catalog}.items() if v})
    catalog = read_catalog(settings.catalog)
    ingest_catalog(settings, catalog)  # make sure the store is current (no-op when it is)
    result = {"machine": f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}",
              "targets": TARGETS,
              "ingest": bench_ingest(settings, catalog, args.ingest_n),
              "search": bench_search(settings, catalog, args.queries)}
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        result["synthetic"] = bench_synthetic(args.synthetic, args.queries, Path(tmp))
    s = result["search"]
    result["meets_targets"] = {
        "ingest_products_per_s": result["ingest"]["products_per_s"] >= TARGETS["ingest_products_per_s"],
        "text_p50_ms": s["text"]["p50_ms"] <= TARGETS["text_p50_ms"],
        "image_p50_ms": s["image"]["p50_ms"] <= TARGETS["image_p50_ms"],
        "composed_p50_ms": s["composed"]["p50_ms"] <= TARGETS["composed_p50_ms"],
    }
    print(json.dumps(result, indent=2))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
