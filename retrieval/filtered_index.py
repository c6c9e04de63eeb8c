"""Filtered nearest-neighbour search that stays fast as the catalog grows.

Single-node Chroma keeps no metadata index: a ``where`` filter scans every record's metadata
before the vector search (chroma-core/chroma #4089), 60-160 ms at 100,000 products and
0.5-1.3 s at a million. A :class:`FilteredIndex` holds, for one collection, the facet
columns as numpy arrays and the unit vectors with the rows **sorted by article type, then
gender, then colour** (the facets nearly every filtered query names, in that order), so the
rows a filter keeps within one type lie close together: an exact scan reads only the span
from the first to the last matching row of each type it touches. A query then plans by the exact number of
matching rows, known from the columns in a millisecond:

* ``exact``: few rows to read (few products match, or the query names article types):
  brute-force dot products over the matching rows, or over the matching types' contiguous
  slices (no copy). Exact answers.
* ``overfetch``: a broad filter naming no type ("black", "under 40"): the collection's own
  HNSW index, unfiltered, for ``k / selectivity * OVERFETCH`` neighbours, filtered here;
  when fewer than ``k`` survive, the exact scan answers instead.

The ``where`` clause is Chroma's own (what :func:`retrieval.filters.to_where` writes), evaluated
with Chroma's semantics (``$ne``/``$nin`` match a product lacking the key; comparisons do
not); a clause it does not know returns ``None`` and the caller asks Chroma.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PARTITION_KEY = "article_type"
SORT_KEYS = (PARTITION_KEY, "gender", "base_colour")  # row order: a type's rows by gender, then colour
STRING_KEYS = ("gender", "master_category", "sub_category", "article_type", "base_colour", "usage")
NUMBER_KEYS = ("price", "has_image")
EXACT_MAX_ROWS = 250_000  # scan at most this many rows exactly; measured in bench/bench_scale.py
GATHER_MAX = 20_000  # this few matching rows: copy them out and score them, wherever they lie
OVERFETCH = 3.0  # neighbours fetched per expected survivor
OVERFETCH_MAX = 2_000
INDEX_FORMAT = 1  # bump when the saved layout changes


@dataclass(frozen=True)
class IndexHit:
    id: str
    similarity: float


class _Columns:
    """Facet columns: string facets as int codes (-1: missing), numbers as float (NaN: missing)."""

    def __init__(self, metadatas: Sequence[dict]):
        self.codes: dict[str, np.ndarray] = {}
        self.vocab: dict[str, dict[str, int]] = {}
        for key in STRING_KEYS:
            vocab: dict[str, int] = {}
            self.codes[key] = np.array([vocab.setdefault(m[key], len(vocab)) if isinstance(m.get(key), str) else -1
                                        for m in metadatas], np.int32)
            self.vocab[key] = vocab
        self.numbers = {key: np.array([float(m[key]) if m.get(key) is not None else np.nan for m in metadatas],
                                      np.float64) for key in NUMBER_KEYS}

    def take(self, order: np.ndarray) -> None:
        self.codes = {k: v[order] for k, v in self.codes.items()}
        self.numbers = {k: v[order] for k, v in self.numbers.items()}


_COMPARE: dict[str, Callable] = {"$gt": np.greater, "$gte": np.greater_equal, "$lt": np.less, "$lte": np.less_equal}


class FilteredIndex:
    """Facet columns and unit vectors of one collection, rows sorted by SORT_KEYS."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]):
        if not (len(ids) == len(vectors) == len(metadatas)):
            raise ValueError("FilteredIndex: ids, vectors and metadatas differ in length")
        cols = _Columns(metadatas)
        order = np.lexsort([cols.codes[key] for key in reversed(SORT_KEYS)])  # stable; the first key leads
        cols.take(order)
        vecs = np.asarray(vectors, np.float32)[order]
        self._set(np.asarray(ids, dtype=str)[order] if len(ids) else np.zeros(0, str),
                  vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12), cols)

    def _set(self, ids: np.ndarray, vectors: np.ndarray, cols: _Columns) -> None:
        self.cols, self.ids, self.vectors = cols, ids, vectors
        types = cols.codes[PARTITION_KEY]
        bounds = np.flatnonzero(np.diff(types)) + 1
        starts, ends = np.r_[0, bounds], np.r_[bounds, len(types)]
        self.slices = {int(types[s]): (int(s), int(e)) for s, e in zip(starts, ends) if e > s}
        self._starts = np.array([s for s, _ in self.slices.values()], np.int64)
        self._ends = np.array([e for _, e in self.slices.values()], np.int64)

    @functools.cached_property
    def row_of(self) -> dict[str, int]:
        """id -> row (for the over-fetch route), made on first use."""
        return {str(i): r for r, i in enumerate(self.ids)}

    # --- on disk ----------------------------------------------------------------------
    def save(self, folder: str | Path, stamp: dict) -> None:
        """Write the index to ``folder`` (replaced whole, never half-written), with ``stamp``:
        what the caller checks before trusting it again (see :meth:`load`)."""
        folder = Path(folder)
        tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "vectors.npy", np.ascontiguousarray(self.vectors, np.float32))
        np.savez(tmp / "columns.npz", ids=self.ids, **{f"code_{k}": v for k, v in self.cols.codes.items()},
                 **{f"number_{k}": v for k, v in self.cols.numbers.items()})
        (tmp / "index.json").write_text(json.dumps({"format": INDEX_FORMAT, "stamp": stamp, "vocab": self.cols.vocab}))
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: str | Path, stamp: dict) -> "FilteredIndex | None":
        """The index saved in ``folder`` if it was saved with ``stamp`` (else None: rebuild it).
        The vectors are memory-mapped: a million products open in about a second."""
        folder = Path(folder)
        if not (folder / "index.json").is_file():
            return None  # never saved here
        try:
            info = json.loads((folder / "index.json").read_text())
            if info.get("format") != INDEX_FORMAT or info.get("stamp") != stamp:
                return None
            with np.load(folder / "columns.npz") as cols_file:
                arrays = {k: cols_file[k] for k in cols_file.files}
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        except (OSError, ValueError, KeyError) as exc:  # missing, half-copied or damaged: rebuild it
            logger.warning("filtered index in %s unreadable (%s); rebuilding it", folder, exc)
            return None
        cols = _Columns.__new__(_Columns)
        cols.vocab = {k: dict(v) for k, v in info["vocab"].items()}
        cols.codes = {k: arrays[f"code_{k}"] for k in STRING_KEYS}
        cols.numbers = {k: arrays[f"number_{k}"] for k in NUMBER_KEYS}
        index = cls.__new__(cls)
        index._set(arrays["ids"], vectors, cols)
        if len(index.ids) != len(vectors):
            return None
        return index

    def __len__(self) -> int:
        return len(self.ids)

    # --- the where clause -------------------------------------------------------------
    def mask(self, where: dict | None) -> np.ndarray | None:
        """Rows matching ``where`` (Chroma semantics); None for a clause this index cannot read.
        A filter naming article types is evaluated on those types' slices only."""
        if not where:
            return np.ones(len(self), bool)
        span = self._type_span(where)
        try:
            if span is None:
                return self._eval(where, slice(None))
            out = np.zeros(len(self), bool)
            for s, e in span:
                out[s:e] = self._eval(where, slice(s, e))
            return out
        except _Unsupported:
            return None

    def _type_span(self, where: dict) -> list[tuple[int, int]] | None:
        """The slices of the article types a top-level (or top-level ``$and``) clause requires."""
        clauses = where["$and"] if set(where) == {"$and"} else [{k: v} for k, v in where.items()]
        for clause in clauses:
            cond = clause.get(PARTITION_KEY) if isinstance(clause, dict) and len(clause) == 1 else None
            if isinstance(cond, dict) and len(cond) == 1:
                cond = cond.get("$eq", cond.get("$in"))
            values = cond if isinstance(cond, (str, list)) else None
            if values is not None:
                values = [values] if isinstance(values, str) else values
                vocab = self.cols.vocab[PARTITION_KEY]
                return [self.slices[vocab[v]] for v in values if isinstance(v, str) and v in vocab]
        return None

    def _eval(self, where: dict, rows: slice) -> np.ndarray:
        if len(where) != 1:  # Chroma reads several keys as an implicit $and
            return np.logical_and.reduce([self._eval({k: v}, rows) for k, v in where.items()])
        (key, cond), = where.items()
        if key in ("$and", "$or"):
            parts = [self._eval(c, rows) for c in cond]
            return np.logical_and.reduce(parts) if key == "$and" else np.logical_or.reduce(parts)
        if not isinstance(cond, dict):
            cond = {"$eq": cond}
        if len(cond) != 1:
            raise _Unsupported(where)
        (op, value), = cond.items()
        return self._compare(key, op, value, rows)

    def _compare(self, key: str, op: str, value, rows: slice) -> np.ndarray:
        if key in self.cols.codes and isinstance(value, (str, list)):
            codes, vocab = self.cols.codes[key][rows], self.cols.vocab[key]
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                raise _Unsupported(key)
            wanted = [vocab[v] for v in values if v in vocab]
            hit = codes == wanted[0] if len(wanted) == 1 else np.isin(codes, wanted)  # isin([]): none
            if op in ("$eq", "$in"):
                return hit
            if op in ("$ne", "$nin"):
                return ~hit  # a product without the key matches, as in Chroma
            raise _Unsupported(op)
        if key in self.cols.numbers and isinstance(value, (int, float)) and not isinstance(value, str):
            col = self.cols.numbers[key][rows]
            if op in _COMPARE:
                return _COMPARE[op](col, float(value), where=~np.isnan(col), out=np.zeros(len(col), bool))
            if op == "$eq":
                return col == float(value)
            if op == "$ne":
                return ~(col == float(value))
        raise _Unsupported(key)

    def facet_counts(self, mask: np.ndarray, attrs: Sequence[str]) -> dict[str, dict[str, int]]:
        """attr -> {value: matching rows with it}, for string facets (values never seen: left out)."""
        out: dict[str, dict[str, int]] = {}
        for attr in attrs:
            vocab = self.cols.vocab.get(attr, {})
            codes = self.cols.codes[attr][mask] if attr in self.cols.codes else np.zeros(0, np.int32)
            counts = np.bincount(codes[codes >= 0], minlength=len(vocab))
            out[attr] = {v: int(counts[c]) for v, c in vocab.items() if counts[c]}
        return out

    # --- search -------------------------------------------------------------------------
    def plan(self, where: dict | None) -> tuple[str, np.ndarray | None, int]:
        """("exact" | "overfetch" | "chroma", mask, rows an exact scan reads)."""
        mask = self.mask(where)
        if mask is None:
            return "chroma", None, len(self)
        matching = int(mask.sum())
        scan = matching if matching <= GATHER_MAX else self._scan_rows(mask)
        return ("exact" if scan <= EXACT_MAX_ROWS else "overfetch"), mask, scan

    def _spans(self, mask: np.ndarray) -> list[tuple[int, int]]:
        """For each article type holding a matching row: its first to last matching row."""
        rows = np.flatnonzero(mask)
        lo, hi = np.searchsorted(rows, self._starts), np.searchsorted(rows, self._ends)
        return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(lo, hi) if b > a]

    def _scan_rows(self, mask: np.ndarray) -> int:
        return sum(e - s for s, e in self._spans(mask))

    def exact(self, vector: np.ndarray, mask: np.ndarray, k: int) -> list[IndexHit]:
        """The true top ``k`` among the rows in ``mask``: dot products over the matching spans only."""
        q = _unit(vector)
        if mask.sum() <= GATHER_MAX:
            rows = np.flatnonzero(mask)
            sims = self.vectors[rows] @ q
            top = _top(sims, k)
            return [IndexHit(str(self.ids[r]), float(v)) for r, v in zip(rows[top], sims[top])]
        best_rows, best_sims = [], []
        for s, e in self._spans(mask):
            sims = self.vectors[s:e] @ q
            sims[~mask[s:e]] = -np.inf
            top = _top(sims, k)
            best_rows.append(top + s)
            best_sims.append(sims[top])
        if not best_rows:
            return []
        rows, sims = np.concatenate(best_rows), np.concatenate(best_sims)
        keep = np.isfinite(sims)
        rows, sims = rows[keep], sims[keep]
        top = _top(sims, k)
        return [IndexHit(str(self.ids[r]), float(v)) for r, v in zip(rows[top], sims[top])]

    def overfetch_size(self, mask: np.ndarray, k: int) -> int:
        share = max(int(mask.sum()), 1) / max(len(self), 1)
        return min(OVERFETCH_MAX, max(k, math.ceil(k / share * OVERFETCH)), len(self))

    def survivors(self, ids: Sequence[str], mask: np.ndarray, vector: np.ndarray, k: int) -> list[IndexHit] | None:
        """The HNSW neighbours ``ids`` that ``mask`` keeps, rescored here; None when fewer than ``k``."""
        rows = np.array([r for i in ids if (r := self.row_of.get(i)) is not None and mask[r]], np.int64)
        if len(rows) < min(k, int(mask.sum())):
            return None
        sims = self.vectors[rows] @ _unit(vector)
        top = _top(sims, k)
        return [IndexHit(str(self.ids[r]), float(v)) for r, v in zip(rows[top], sims[top])]


class _Unsupported(Exception):
    pass


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, np.float32).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _top(sims: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest, best first (ties by position, for stable answers)."""
    if len(sims) > k:
        part = np.argpartition(-sims, k - 1)[:k]
    else:
        part = np.arange(len(sims))
    return part[np.lexsort((part, -sims[part]))]


def index_from_collection(coll, page: int = 10_000) -> FilteredIndex:
    """Read a whole Chroma collection (vectors and metadata) into a :class:`FilteredIndex`."""
    ids: list[str] = []
    vecs: list[np.ndarray] = []
    metas: list[dict] = []
    offset = 0
    while True:
        got = coll.get(include=["embeddings", "metadatas"], limit=page, offset=offset)
        if not got["ids"]:
            break
        ids += got["ids"]
        vecs.append(np.asarray(got["embeddings"], np.float32))
        metas += got["metadatas"]
        offset += len(got["ids"])
    dim = vecs[0].shape[1] if vecs else 1
    return FilteredIndex(ids, np.concatenate(vecs) if vecs else np.zeros((0, dim), np.float32), metas)


def saved_or_read(coll, folder: Path, stamp: dict) -> FilteredIndex:
    """The index saved in ``folder`` with ``stamp``, else the collection read from Chroma
    (minutes at a million products) and saved there for the next start."""
    index = FilteredIndex.load(folder, stamp)
    if index is not None:
        logger.info("filtered index of %s: loaded from %s (%d products)", coll.name, folder, len(index))
        return index
    t0 = time.perf_counter()
    index = index_from_collection(coll)
    try:
        index.save(folder, stamp)
    except OSError as exc:  # a read-only folder: the index still serves, read again at each start
        logger.warning("filtered index of %s not saved in %s: %s", coll.name, folder, exc)
    logger.info("filtered index of %s: read from Chroma in %.1f s (%d products)", coll.name,
                time.perf_counter() - t0, len(index))
    return index
