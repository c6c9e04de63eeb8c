"""Ingestion speed with the packaged encoders: the committed pipeline (``git show HEAD``) against
the current one, over batch sizes, decode threads and torch threads, in one run.

Each configuration ingests the same slice of the sample catalog (with its images) into a
fresh store folder under /tmp; products/s is what IngestReport reports (encode + decode +
write, without model loading).

    nice -n 10 .venv/bin/python -m bench.bench_ingest [--products 600]

Writes bench/results/bench_ingest.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from adapters.config import EncoderConfig
from adapters.imaging import load_image
from adapters.loading.encoders import load_product_encoder
from retrieval import ingest as current
from retrieval.catalog import SAMPLE_CATALOG, read_catalog
from retrieval.store import ProductStore, StoreConfig, make_client

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "bench_ingest.json"


def _committed_ingest():
    """retrieval/ingest.py as last committed: the "before" pipeline."""
    source = subprocess.run(["git", "show", "HEAD:retrieval/ingest.py"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "ingest_committed.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("ingest_committed", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _run(module, catalog, encoder, **kwargs) -> float:
    folder = tempfile.mkdtemp(prefix="bench_ingest_")
    store = ProductStore(make_client(StoreConfig(path=folder)), "products", encoder.fingerprint)
    report = module.ingest(catalog, store, encoder, load_image, progress=False, **kwargs)
    assert report.added == len(catalog.products), report.summary()
    return round(report.per_second, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=600)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    full = read_catalog(SAMPLE_CATALOG)
    catalog = replace(full, products=full.products[:args.products])
    encoder = load_product_encoder(EncoderConfig(device="cpu"))
    _run(current, replace(catalog, products=catalog.products[:64]), encoder)  # warm up
    committed = _committed_ingest()
    rows = []
    configs = [("committed", committed, 2, {"batch_size": 128}),
               ("current", current, 2, {"batch_size": 128, "decode_workers": 1}),
               ("current", current, 2, {"batch_size": 64, "decode_workers": 1}),
               ("current", current, 2, {"batch_size": 256, "decode_workers": 1}),
               ("current", current, 2, {"batch_size": 128, "decode_workers": 2}),
               ("current", current, 1, {"batch_size": 128, "decode_workers": 1}),
               ("committed", committed, 2, {"batch_size": 128})]
    for name, module, threads, kwargs in configs:
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        rate = _run(module, catalog, encoder, **kwargs)
        rows.append({"pipeline": name, "torch_threads": threads, **kwargs, "products_per_s": rate,
                     "wall_s": round(time.perf_counter() - t0, 1)})
        logger.info("%s", rows[-1])
    out = {"products": args.products, "with_images": True, "runs": rows}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.exit(main())
