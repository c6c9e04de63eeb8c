"""Search at catalog scale: synthetic stores of N products, raw Chroma filters against the
store's filtered index, in one run.

The store is drawn from the real one: each synthetic product copies the facets of a random
real product (the catalog's joint facet distribution), its price times a log-normal factor,
and its text and image vectors plus Gaussian noise (re-normalised). Built once under
``runs/scale/store_<N>`` and reused. Searches follow the shapes ProductSearch issues:

* text: one filtered query in the text space (facets of a random product: type, type+gender,
  type+gender+colour, +price cap, colour alone, gender+price cap, type minus a colour);
* image: the picture's 24 neighbours (unfiltered), then one filtered query per reading of
  (type, colour) among them (top two);
* composed: neighbours, one query per (type, gender) reading with the text's colour (and a
  price cap), then the relaxation to the text's filter alone.

Recall@10 of every filtered query against exact filtered brute force on the same vectors.

    nice -n 10 .venv/bin/python -m bench.bench_scale --n 100000 [--searches 30]

Writes bench/results/bench_scale_<N>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.catalog import Product
from retrieval.filtered_index import FilteredIndex
from retrieval.filters import FACET_FIELDS, ProductFilter, to_where
from retrieval.stats import percentile
from retrieval.store import ProductStore, StoreConfig, make_client

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "scale"
RESULTS = REPO / "bench" / "results"
FIELDS = ("gender", "master_category", "sub_category", "article_type", "base_colour", "usage", "price")
NOISE = 0.35  # norm of the noise added to a unit vector


@dataclass(frozen=True)
class ScaleFingerprint:
    kind: str = "bench-scale-synthetic"
    shared_dim: int = 256
    text_dim: int = 384

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self) -> str:
        return self.kind


def _source() -> dict:
    """The real store's vectors and facets (read from a copy: the real folder stays untouched)."""
    copy = RUNS / "source_store"
    if not copy.exists():
        shutil.copytree(REPO / ".store", copy)
    client = make_client(StoreConfig(path=str(copy)))
    text = client.get_collection("products_text").get(include=["embeddings", "metadatas"])
    image = client.get_collection("products_image").get(include=["embeddings", "metadatas"])
    img = dict(zip(image["ids"], image["embeddings"]))
    return {"metas": text["metadatas"], "text": np.asarray(text["embeddings"], np.float32),
            "image": np.asarray([img[i] for i in text["ids"]], np.float32)}


def _noisy(v: np.ndarray, rng) -> np.ndarray:
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    v = v + rng.normal(scale=NOISE / np.sqrt(v.shape[1]), size=v.shape).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def build(n: int, seed: int = 0) -> tuple[ProductStore, list[Product], dict[str, np.ndarray], dict]:
    """The cached synthetic store of ``n`` products: (store, products, vectors, source)."""
    src = _source()
    folder = RUNS / f"store_{n}"
    arrays = RUNS / f"vectors_{n}.npz"
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(src["metas"]), n)
    factor = np.exp(rng.normal(scale=0.2, size=n))
    products = [Product(id=f"s{i}", title=f"synthetic {i}", image=None,
                        **{f: src["metas"][j].get(f) for f in FIELDS if f != "price"},
                        price=round(float(src["metas"][j]["price"]) * float(factor[i]), 2))
                for i, j in enumerate(pick)]
    if arrays.is_file() and (folder / "BUILT").is_file():
        data = np.load(arrays)
        vecs = {"text": data["text"], "image": data["image"]}
        raw = ProductStore(make_client(StoreConfig(path=str(folder))), "scale", ScaleFingerprint(), filtered_index="off")
        return raw, products, vecs, src
    shutil.rmtree(folder, ignore_errors=True)
    vecs = {s: np.concatenate([_noisy(src[s][pick[a:a + 50_000]], rng) for a in range(0, n, 50_000)])
            for s in ("text", "image")}
    np.savez(arrays, **vecs)
    store = ProductStore(make_client(StoreConfig(path=str(folder))), "scale", ScaleFingerprint(), filtered_index="off")
    t0 = time.perf_counter()
    for a in range(0, n, 10_000):
        store.upsert(products[a:a + 10_000], vecs["text"][a:a + 10_000], vecs["image"][a:a + 10_000],
                     [True] * len(products[a:a + 10_000]))
        logger.info("built %d / %d (%.0f products/s)", a + 10_000, n, (a + 10_000) / (time.perf_counter() - t0))
    (folder / "BUILT").write_text(f"{n} products in {time.perf_counter() - t0:.0f} s\n")
    return store, products, vecs, src


class Truth:
    """Exact filtered top-k by brute force, with its own filter evaluation (numpy string columns,
    the rules of retrieval.filters.matches), independent of the index under test."""

    def __init__(self, products: list[Product], vecs: dict[str, np.ndarray]):
        self.ids = np.array([p.id for p in products])
        self.vecs = vecs
        self.cols = {attr: np.array([getattr(p, attr) or "" for p in products])
                     for attr in FACET_FIELDS.values()}
        self.price = np.array([np.nan if p.price is None else p.price for p in products])

    def mask(self, f: ProductFilter) -> np.ndarray:
        keep = np.ones(len(self.ids), bool)
        for name, attr in FACET_FIELDS.items():
            if getattr(f, name):
                keep &= np.isin(self.cols[attr], list(getattr(f, name)))
        with np.errstate(invalid="ignore"):
            if f.min_price is not None:
                keep &= self.price >= f.min_price
            if f.max_price is not None:
                keep &= self.price <= f.max_price
        if f.exclude_colours:
            keep &= ~np.isin(self.cols["base_colour"], list(f.exclude_colours))
        return keep

    def top(self, q: np.ndarray, space: str, f: ProductFilter, k: int) -> list[str]:
        rows = np.flatnonzero(self.mask(f))
        sims = self.vecs[space][rows] @ (q / np.linalg.norm(q))
        return list(self.ids[rows[np.argsort(-sims)[:k]]])


def _text_filter(p: Product, shape: int, rng) -> ProductFilter:
    cap = round(p.price * 1.3, 0)
    return [ProductFilter(article_types=(p.article_type,)),
            ProductFilter(article_types=(p.article_type,), genders=(p.gender,)),
            ProductFilter(article_types=(p.article_type,), genders=(p.gender,), colours=(p.base_colour,)),
            ProductFilter(article_types=(p.article_type,), genders=(p.gender,), max_price=cap),
            ProductFilter(colours=(p.base_colour,)),
            ProductFilter(genders=(p.gender,), max_price=cap),
            ProductFilter(article_types=(p.article_type,), exclude_colours=("Black",))][shape % 7]


def _readings(neigh, fields: tuple[str, ...]) -> list[dict]:
    votes = Counter(tuple(getattr(m.product, f) for f in fields) for m in neigh)
    return [dict(zip(fields, key)) for key, _ in votes.most_common(2) if all(key)]


def _as_filter(attrs: dict, base: ProductFilter) -> ProductFilter:
    names = {"article_type": "article_types", "base_colour": "colours", "gender": "genders"}
    return base.merged(ProductFilter(**{names[a]: (v,) for a, v in attrs.items()}))


def workload(store: ProductStore, products, vecs, truth: Truth, kind: str, searches: int, seed: int):
    """(per-search seconds, per-filtered-query recall@10) for one search kind on ``store``."""
    rng = np.random.default_rng(seed)
    times, recalls = [], []
    for s in range(searches):
        i = int(rng.integers(len(products)))
        p = products[i]
        space = "text" if kind == "text" else "image"
        q = _noisy(vecs[space][i:i + 1], rng)[0]
        t0 = time.perf_counter()
        asked: list[tuple[ProductFilter, list[str]]] = []
        if kind == "text":
            f = _text_filter(p, s, rng)
            asked.append((f, [m.product.id for m in store.query(q, space="text", where=to_where(f), k=10)]))
        else:
            neigh = store.query(q, space="image", where=None, k=24)
            fields = ("article_type", "base_colour") if kind == "image" else ("article_type", "gender")
            other = products[int(rng.integers(len(products)))]
            base = ProductFilter() if kind == "image" else ProductFilter(
                colours=(other.base_colour,), max_price=None if s % 2 else round(other.price * 1.5, 0))
            for attrs in _readings(neigh, fields):
                f = _as_filter(attrs, base)
                asked.append((f, [m.product.id for m in store.query(q, space="image", where=to_where(f), k=15)]))
            if kind == "composed":
                asked.append((base, [m.product.id for m in store.query(q, space="image", where=to_where(base), k=20)]))
        times.append(time.perf_counter() - t0)
        for f, got in asked:
            want = truth.top(q, space, f, len(got) or 10)[:10]
            if want:
                recalls.append(len(set(got[:10]) & set(want)) / len(want))
    return times, recalls


def _summary(times, recalls) -> dict:
    return {"p50_ms": round(1000 * percentile(times, 50), 1), "p95_ms": round(1000 * percentile(times, 95), 1),
            "recall_at_10": round(float(np.mean(recalls)), 4) if recalls else None, "filtered_queries": len(recalls)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--searches", type=int, default=30)
    ap.add_argument("--index-only", action="store_true",
                    help="no Chroma store (too slow to build at 1M here): time the index's filtered routes alone")
    ap.add_argument("--build-only", action="store_true", help="build (or check) the cached store and stop")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    RUNS.mkdir(parents=True, exist_ok=True)
    if args.index_only:
        return index_only(args.n, args.searches)
    t0 = time.perf_counter()
    raw, products, vecs, _ = build(args.n)
    built_s = time.perf_counter() - t0
    if args.build_only:
        return print(f"store of {args.n} products ready under {RUNS} ({built_s:.0f} s)")
    client, truth = raw.client, Truth(products, vecs)
    start = {}
    for attempt in ("first start (read from Chroma, then saved)", "next start (the saved index)"):
        indexed = ProductStore(client, "scale", ScaleFingerprint(), filtered_index="on")
        if attempt.startswith("first") and indexed.index_root is not None:
            shutil.rmtree(indexed.index_root, ignore_errors=True)
        t1 = time.perf_counter()
        for space in ("text", "image"):  # what a server does on its first filtered query of each space
            indexed.index(space)
        start[attempt] = round(time.perf_counter() - t1, 1)
    out = {"n": args.n, "searches_per_kind": args.searches, "store_open_or_build_s": round(built_s, 1),
           "filtered_index_ready_s": start, "kinds": {}}
    for kind in ("text", "image", "composed"):
        row = {}
        for name, store in (("raw_chroma", raw), ("filtered_index", indexed)):
            row[name] = _summary(*workload(store, products, vecs, truth, kind, args.searches, seed=42))
            logger.info("%s %s: %s", kind, name, row[name])
        row["speedup_p50"] = round(row["raw_chroma"]["p50_ms"] / max(row["filtered_index"]["p50_ms"], 1e-3), 1)
        out["kinds"][kind] = row
    out["routes"] = _routes(indexed, products)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"bench_scale_{args.n}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


def _routes(store: ProductStore, products) -> dict:
    """Which route each text filter shape takes, and how many rows an exact scan reads."""
    index: FilteredIndex = store.index("text")
    rng = np.random.default_rng(1)
    out = {}
    for shape in range(7):
        p = products[int(rng.integers(len(products)))]
        f = _text_filter(p, shape, rng)
        plan, mask, scan = index.plan(to_where(f))
        out[f.describe()] = {"route": plan, "matching": int(mask.sum()), "rows_read": scan}
    return out


def index_only(n: int, searches: int) -> None:
    """The filtered index at ``n`` products without a Chroma store: each filtered query a text or
    composed search issues, timed through plan + exact scan (or over-fetch, with an exact top-n
    standing in for Chroma's unfiltered HNSW answer, which is timed separately), recall@10
    against brute force."""
    src = _source()
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(src["metas"]), n)
    factor = np.exp(rng.normal(scale=0.2, size=n))
    metas = [{**{f: src["metas"][j].get(f) for f in FIELDS if f != "price"},
              "price": round(float(src["metas"][j]["price"]) * float(factor[i]), 2)} for i, j in enumerate(pick)]
    products = [Product(id=f"s{i}", title="", **m) for i, m in enumerate(metas)]
    out = {"n": n, "mode": "index only (no Chroma store)", "spaces": {}}
    for space in ("text", "image"):
        vecs = np.concatenate([_noisy(src[space][pick[a:a + 50_000]], rng) for a in range(0, n, 50_000)])
        t0 = time.perf_counter()
        index = FilteredIndex([p.id for p in products], vecs, metas)
        build_s = time.perf_counter() - t0
        truth = Truth(products, {space: vecs})
        times, recalls, routes = {}, [], Counter()
        for s in range(searches * 7):
            i = int(rng.integers(n))
            p, q = products[i], _noisy(vecs[i:i + 1], rng)[0]
            f = _text_filter(p, s, rng) if space == "text" else ProductFilter(
                article_types=(p.article_type,), genders=(p.gender,), colours=(products[int(rng.integers(n))].base_colour,))
            t0 = time.perf_counter()
            plan, mask, _ = index.plan(to_where(f))
            hits = None
            if plan == "overfetch":
                size = index.overfetch_size(mask, 10)
                t_hnsw = time.perf_counter()
                cand = [products[r].id for r in np.argsort(-(vecs @ q))[:size]]  # stand-in for HNSW
                t0 += time.perf_counter() - t_hnsw
                hits = index.survivors(cand, mask, q, 10)
            if hits is None:
                hits = index.exact(q, mask, 10)
            shape = f.describe().count(",") if space == "image" else s % 7
            times.setdefault(f"{plan}:{shape}", []).append(time.perf_counter() - t0)
            routes[plan] += 1
            want = truth.top(q, space, f, 10)
            if want:
                recalls.append(len({h.id for h in hits} & set(want)) / len(want))
        out["spaces"][space] = {
            "index_build_s": round(build_s, 1), "routes": dict(routes),
            "recall_at_10": round(float(np.mean(recalls)), 4),
            "ms_per_filtered_query": {k: {"p50": round(1000 * percentile(v, 50), 1), "p95": round(1000 * percentile(v, 95), 1),
                                          "queries": len(v)} for k, v in sorted(times.items())}}
        logger.info("%s: %s", space, out["spaces"][space])
        del index, vecs
    path = RESULTS / f"bench_scale_index_{n}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
