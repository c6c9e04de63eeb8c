"""Ingestion speed with the packaged encoders, over the pipeline's settings, in one run.

Each configuration ingests the same slice of the sample catalog (with its images) into a
fresh store folder under /tmp; products/s is what IngestReport reports (decode + encode +
write, without model loading). ``before``: eager fp32 encoders, the image backbone run on the
whole encoder batch (128 images) at once, and a store write per encoded batch; then the image
backbone in passes of the encoder's own size (``ImageEncoderConfig.batch_size``), with bf16
text alone and with the compiled backbone (its one-off compile timed apart, in a warm-up:
about 28 s with a cold inductor cache, 6.5 s warm). The first configuration runs again last,
to show how much the machine drifted. Also: how close the bf16 text vectors stay to fp32
(cosine).

    nice -n 10 .venv/bin/python -m bench.bench_ingest [--products 3000]

Writes bench/results/bench_ingest.json.
"""

from __future__ import annotations

import argparse
import copy
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


def _with_passes(encoder, images: int):
    """``encoder`` whose image backbone runs ``images`` images a pass (same weights)."""
    view = copy.copy(encoder)
    view.image_encoder = copy.copy(encoder.image_encoder)
    view.image_encoder.cfg = replace(encoder.image_encoder.cfg, batch_size=images)
    view.image_encoder._compiled_views = {}
    return view


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
    passes = encoder.image_encoder.cfg.batch_size
    wide = _with_passes(encoder, 128)  # what the image backbone ran before: the whole encoder batch in one pass
    _run(warm, encoder, bulk="off")  # warm up
    t0 = time.perf_counter()
    _run(warm, encoder, bulk="on")  # the compile happens here, once per process and pass size
    compile_s = round(time.perf_counter() - t0, 1)
    rows = []
    configs = [("before: eager fp32, image passes of 128, a write per batch", wide, 2, {"bulk": "off", "write_rows": 128}),
               ("bf16 text + compiled image backbone, passes of 128", wide, 2, {"bulk": "on"}),
               (f"eager fp32, image passes of {passes}", encoder, 2, {"bulk": "off"}),
               (f"bf16 text, image passes of {passes}", encoder, 2, {"bulk": "auto"}),
               (f"bf16 text + compiled image backbone, passes of {passes}", encoder, 2, {"bulk": "on"}),
               (f"bf16 text + compiled image backbone, passes of {passes}", encoder, 1, {"bulk": "on"}),
               (f"bf16 text, image passes of {passes}, encoder batches of 256", encoder, 2,
                {"bulk": "auto", "batch_size": 256}),
               (f"bf16 text, image passes of {passes}", encoder, 2, {"bulk": "auto"}),
               (f"bf16 text + compiled image backbone, passes of {passes}", encoder, 2, {"bulk": "on"}),
               ("before: eager fp32, image passes of 128, a write per batch", wide, 2, {"bulk": "off", "write_rows": 128})]
    for name, enc, threads, kwargs in tqdm(configs, desc="configurations"):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        _run(warm, enc, **kwargs)  # a new pass size or thread count compiles again: not counted
        warm_s = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        rate = _run(catalog, enc, **kwargs)
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
