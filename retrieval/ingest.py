"""Catalog -> store, in batches, idempotently.

A product is skipped when the store already holds it with the same content hash, so a
re-run adds nothing twice and an interrupted run resumes where it stopped (each batch is
committed before the next starts). "Holds it" means both collections, with the current
hash: a run killed between a product's two writes leaves it half-written, and the next run
writes it again; half-written products no longer in the catalog (a killed ``prune``) are
deleted. A missing or unreadable image is reported and the product is indexed by its text.
Products no longer in the catalog are removed only with ``prune=True``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from retrieval.catalog import Catalog, Product, RowIssue
from retrieval.query_parser import Vocabulary
from retrieval.store import ProductStore

logger = logging.getLogger(__name__)

VOCAB_KEY = "shopassist_vocabulary"
ImageLoader = Callable[[str], Image.Image]
# Chosen by measurement (bench/bench_ingest.py, 2 cores): products per encoder batch, and
# threads decoding images ahead of the encoder.
BATCH_SIZE = 128
DECODE_WORKERS = 1  # raises ValueError (adapters.imaging.ImageError) on a bad image
WRITE_ROWS = 1024  # products per store write (Chroma: 1,590 records/s at 1024 a write, 980 at 128)


@dataclass
class IngestReport:
    catalog_rows: int = 0
    added: int = 0
    unchanged: int = 0
    removed: int = 0
    repaired: int = 0  # half-written products (a killed run) written again or deleted
    without_image: int = 0
    seconds: float = 0.0
    encoding: str = ""  # the encoder's speed-ups for this run (ProductEncoder.for_ingest), if any
    issues: list[RowIssue] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.added / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        repaired = f", {self.repaired} half-written repaired" if self.repaired else ""
        encoding = f", {self.encoding}" if self.encoding else ""
        return (f"{self.added} added, {self.unchanged} unchanged, {self.removed} removed{repaired}, "
                f"{self.without_image} indexed without image, {len(self.issues)} issue(s); "
                f"{self.seconds:.1f} s ({self.per_second:.0f} products/s{encoding})")


def ingest(catalog: Catalog, store: ProductStore, embedder, load_image: ImageLoader, *,
           batch_size: int = BATCH_SIZE, prune: bool = False, progress: bool = True,
           decode_workers: int = DECODE_WORKERS, bulk: str = "auto", write_rows: int = WRITE_ROWS) -> IngestReport:
    """Embed and upsert every new or changed product of ``catalog`` into ``store``.

    ``batch_size`` products are encoded at a time and at least ``write_rows`` (or what is
    left) written at a time. ``bulk`` ("auto", "on", "off"): the encoder's ingestion speed-ups,
    for an embedder that has them (``for_ingest``, see adapters.loading.device.bulk_encoding);
    others encode as they are."""
    if batch_size < 1 or write_rows < 1:
        raise ValueError(f"ingest: batch_size ({batch_size}) and write_rows ({write_rows}) must be >= 1")
    start = time.perf_counter()
    report = IngestReport(catalog_rows=len(catalog.products), issues=list(catalog.issues))
    products = catalog.products
    stored = store.stored_hashes([p.id for p in products])
    todo = [p for p in products if stored.get(p.id) != p.content_hash()]
    report.unchanged = len(products) - len(todo)
    half = store.half_written_ids()
    if half:  # in the catalog: rewritten below with the others in `todo`; not in it: garbage
        in_catalog = {p.id for p in todo}
        store.delete([i for i in half if i not in in_catalog])
        report.repaired = len(half)
        logger.warning("ingest: %d product(s) half-written by an interrupted run, repaired: %s",
                       len(half), ", ".join(half[:10]) + (" ..." if len(half) > 10 else ""))
    record_vocabulary(store, Vocabulary.from_products(products))
    if todo and hasattr(embedder, "for_ingest"):
        embedder, speedups = embedder.for_ingest(len(todo), bulk)
        report.encoding = speedups.describe()
    batches = [todo[s:s + batch_size] for s in range(0, len(todo), batch_size)]
    bar = tqdm(total=len(todo), desc="ingest", unit="product", disable=not progress)
    _pipeline(batches, catalog.rows, store, embedder, load_image, report, bar.update, decode_workers, write_rows)
    bar.close()
    if prune:
        keep = {p.id for p in products}
        gone = sorted((set(store.all_ids("text")) | set(store.all_ids("image"))) - keep)
        store.delete(gone)
        report.removed = len(gone)
    report.seconds = time.perf_counter() - start
    logger.info("ingest: %s", report.summary())
    return report


def _pipeline(batches: list[list[Product]], rows: dict[str, int], store: ProductStore, embedder,
              load_image: ImageLoader, report: IngestReport, done: Callable[[int], None], decode_workers: int,
              write_rows: int) -> None:
    """Decode, encode and write overlapped: the next batches' images are decoded (PIL releases
    the GIL) and the previous batches are written while this one is encoded. Encoded batches
    are written ``write_rows`` products at a time (Chroma writes fewer, larger transactions
    faster). One writer thread writes in order, each image collection first and text last
    (see ProductStore.upsert), so a kill at any point leaves whole writes done or a
    half-written product the next run repairs; never a later batch ahead of an earlier one."""
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=decode_workers, thread_name_prefix="ingest-decode") as decode, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write") as write:
        ahead = [decode.submit(_decode_batch, b, load_image) for b in batches[:decode_workers + 1]]
        writing, pending = None, []
        for i, batch in enumerate(batches):
            decoded = ahead[i].result()
            if i + decode_workers + 1 < len(batches):
                ahead.append(decode.submit(_decode_batch, batches[i + decode_workers + 1], load_image))
            pending.append((batch, _encode_batch(batch, decoded, embedder, report, rows)))
            ahead[i] = None  # free the decoded images
            if sum(len(b) for b, _ in pending) < write_rows and i + 1 < len(batches):
                continue
            if writing is not None:
                writing.result()  # a failed write stops the run here, before more is queued
            writing = write.submit(_write_batches, pending, store, report, done)
            pending = []
        writing.result()


def _decode_batch(batch: list[Product], load_image: ImageLoader) -> list[Image.Image | ValueError | None]:
    """Each product's decoded image, the error that made it unusable, or None (no image path)."""
    out: list[Image.Image | ValueError | None] = []
    for p in batch:
        try:
            out.append(load_image(p.image) if p.image else None)
        except ValueError as exc:
            out.append(exc)
    return out


def _encode_batch(batch: list[Product], decoded: list, embedder, report: IngestReport,
                  rows: dict[str, int]) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    images = [im for im in decoded if isinstance(im, Image.Image)]
    with_image = [isinstance(im, Image.Image) for im in decoded]
    for p, im in zip(batch, decoded):
        if isinstance(im, ValueError):
            report.issues.append(RowIssue(rows.get(p.id, 0), "image", str(im), p.id, "indexed without image"))
    text_vecs, text_shared = embedder.embed_texts_both([p.document() for p in batch])
    image_vecs = np.array(text_shared, dtype=np.float32, copy=True)  # stand-in for products without an image
    if images:
        image_vecs[np.flatnonzero(with_image)] = embedder.embed_images(images)
    return text_vecs, image_vecs, with_image


def _write_batches(encoded: list[tuple[list[Product], tuple]], store: ProductStore, report: IngestReport,
                   done: Callable[[int], None]) -> None:
    """Write consecutive encoded batches as one upsert."""
    batch = [p for b, _ in encoded for p in b]
    text_vecs = np.concatenate([v[0] for _, v in encoded])
    image_vecs = np.concatenate([v[1] for _, v in encoded])
    with_image = [flag for _, v in encoded for flag in v[2]]
    store.upsert(batch, text_vecs, image_vecs, with_image)
    report.added += len(batch)
    report.without_image += with_image.count(False)
    done(len(batch))


def record_vocabulary(store: ProductStore, vocab: Vocabulary) -> None:
    """Merge ``vocab`` into the facet values kept on the store (what the query parser matches)."""
    merged = read_vocabulary(store).to_dict()
    for key, values in vocab.to_dict().items():
        merged[key] = sorted(set(merged.get(key, [])) | set(values))
    meta = dict(store.text.metadata or {})
    meta[VOCAB_KEY] = json.dumps(merged)
    meta.pop("hnsw:space", None)
    store.set_text_metadata(meta)


def read_vocabulary(store: ProductStore) -> Vocabulary:
    raw = (store.text.metadata or {}).get(VOCAB_KEY)
    return Vocabulary.from_dict(json.loads(raw)) if raw else Vocabulary()
