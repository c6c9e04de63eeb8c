"""Ingestion speed with the packaged encoders, over the pipeline's settings, in one run.

Each configuration ingests the same slice of the sample catalog (with its images) into a
fresh store folder under /tmp; products/s is what IngestReport reports (decode + encode +
write, without model loading). ``before``: eager fp32 encoders and a store write per encoded
batch (what the pipeline did before the bulk speed-ups); then bf16 text alone, and bf16 text
with the compiled image backbone (its one-off compile timed apart, in a warm-up). Also: how
close the bf16 text vectors stay to fp32 (cosine).

    nice -n 10 .venv/bin/python -m bench.bench_ingest [--products 3000]

Writes bench/results/bench_ingest.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from adapters.config import BulkEncoding, EncoderConfig
from adapters.imaging import load_image
from adapters.loading.device import COMPILE_MIN_PRODUCTS, native_bf16
from adapters.loading.encoders import load_product_encoder
from retrieval.ingest import ingest
from retrieval.catalog import SAMPLE_CATALOG, read_catalog
from retrieval.store import ProductStore, StoreConfig, make_client

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "bench_ingest.json"


def _run(catalog, encoder, **kwargs) -> float:
    folder = tempfile.mkdtemp(prefix="bench_ingest_")
    store = ProductStore(make_client(StoreConfig(path=folder)), "products", encoder.fingerprint)
    report = ingest(catalog, store, encoder, load_image, progress=False, **kwargs)
    assert report.added == len(catalog.products), report.summary()
    shutil.rmtree(folder, ignore_errors=True)
    return round(report.per_second, 1)


def _bf16_fidelity(encoder, catalog) -> dict:
    docs = [p.document() for p in catalog.products[:1024]]
    fp32, _ = encoder.embed_texts_both(docs)
    bf16, _ = encoder.for_bulk(BulkEncoding(bf16_text=True)).embed_texts_both(docs)
    cos = (fp32 * bf16).sum(axis=1)
    return {"texts": len(docs), "cosine_min": round(float(cos.min()), 6), "cosine_mean": round(float(cos.mean()), 6)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=3000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    full = read_catalog(SAMPLE_CATALOG)
    catalog = replace(full, products=full.products[:args.products])
    warm = replace(full, products=full.products[-256:])
    encoder = load_product_encoder(EncoderConfig(device="cpu"))
    _run(warm, encoder, bulk="off")  # warm up
    t0 = time.perf_counter()
    _run(warm, encoder, bulk="on")  # the compile happens here, once per process
    compile_s = round(time.perf_counter() - t0, 1)
    rows = []
    configs = [("before: eager fp32, a write per batch", 2, {"bulk": "off", "write_rows": 128}),
               ("eager fp32, writes of 1024", 2, {"bulk": "off"}),
               ("bf16 text", 2, {"bulk": "auto"}),
               ("bf16 text + compiled image backbone", 2, {"bulk": "on"}),
               ("bf16 text + compiled image backbone", 1, {"bulk": "on"}),
               ("bf16 text + compiled image backbone, batch 256", 2, {"bulk": "on", "batch_size": 256}),
               ("before: eager fp32, a write per batch", 2, {"bulk": "off", "write_rows": 128})]
    for name, threads, kwargs in tqdm(configs, desc="configurations"):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        _run(warm, encoder, **kwargs)  # a new batch shape or thread count compiles again: not counted
        warm_s = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        rate = _run(catalog, encoder, **kwargs)
        rows.append({"pipeline": name, "torch_threads": threads, **kwargs, "products_per_s": rate,
                     "wall_s": round(time.perf_counter() - t0, 1), "warm_up_s": warm_s})
        logger.info("%s", rows[-1])
    torch.set_num_threads(2)
    out = {"products": args.products, "with_images": True, "native_bf16": native_bf16(),
           "compile_warmup_s": compile_s, "compile_min_products": COMPILE_MIN_PRODUCTS,
           "bf16_text_vs_fp32": _bf16_fidelity(encoder, full), "runs": rows}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.exit(main())
