"""The in-memory filtered index behind ProductStore.query: Chroma's ``where`` semantics,
exact top-k against brute force, the over-fetch route and its exact fallback, and the same
answers as Chroma's own filtered query."""

from __future__ import annotations

import random
import uuid

import numpy as np
import pytest

from retrieval import filtered_index as fi
from retrieval.catalog import Product
from retrieval.filters import ProductFilter, to_where
from retrieval.store import ProductStore
from tests.helpers import shared_client
from tests.ingest_worker import SHARED_DIM, TEXT_DIM, ToyFingerprint

TYPES = ["Tshirts", "Shirts", "Jeans", "Watches", "Socks", "Sarees"]
COLOURS = ["Black", "White", "Blue", "Red", "Lime Green"]
GENDERS = ["Men", "Women", "Unisex"]
N = 400


def _products(seed: int = 7) -> list[Product]:
    rng = random.Random(seed)
    out = []
    for i in range(N):
        out.append(Product(
            id=f"p{i}", title=f"product {i}", gender=rng.choice(GENDERS), master_category="Apparel",
            sub_category=None if i % 17 == 0 else "Topwear", article_type=rng.choices(TYPES, [8, 4, 3, 2, 1, 1])[0],
            base_colour=None if i % 23 == 0 else rng.choice(COLOURS), usage="Casual",
            price=None if i % 11 == 0 else round(rng.uniform(5, 120), 2), image=None))
    return out


@pytest.fixture(scope="module")
def store_and_truth():
    rng = np.random.default_rng(3)
    products = _products()
    text = rng.normal(size=(N, TEXT_DIM)).astype(np.float32)
    image = rng.normal(size=(N, SHARED_DIM)).astype(np.float32)
    has_image = [i % 5 != 0 for i in range(N)]
    store = ProductStore(shared_client(), f"fi{uuid.uuid4().hex[:8]}", ToyFingerprint(), filtered_index="on")
    store.upsert(products, text, image, has_image)
    return store, products, {"text": text, "image": image}


def _filters(seed: int = 11) -> list[ProductFilter]:
    rng = random.Random(seed)
    out = [ProductFilter(article_types=("Tshirts",)), ProductFilter(colours=("Lime Green",)),
           ProductFilter(max_price=40.0), ProductFilter(exclude_colours=("Black",)),
           ProductFilter(article_types=("Sarees",), colours=("Red",), genders=("Men",)),
           ProductFilter(article_types=("Nonexistent",))]
    for _ in range(30):
        out.append(ProductFilter(
            article_types=tuple(rng.sample(TYPES, rng.choice([0, 1, 1, 2]))),
            colours=tuple(rng.sample(COLOURS, rng.choice([0, 1, 2]))),
            genders=tuple(rng.sample(GENDERS, rng.choice([0, 1]))),
            max_price=rng.choice([None, 30.0, 80.0]), min_price=rng.choice([None, None, 20.0]),
            exclude_colours=tuple(rng.sample(COLOURS, rng.choice([0, 0, 1])))))
    return out


def test_where_semantics_match_chroma(store_and_truth):
    store, _, _ = store_and_truth
    index = store.index("text")
    extra = [{"has_image": False}, {"sub_category": {"$ne": "Topwear"}}, {"price": {"$gt": 50}},
             {"$or": [{"base_colour": "Red"}, {"price": {"$lt": 10}}]}, {"price": {"$ne": 30.0}}]
    for where in [to_where(f) for f in _filters()] + extra:
        if where is None:
            continue
        want = set(store.text.get(where=where, include=[])["ids"])
        got = set(index.ids[index.mask(where)])
        assert got == want, where
    assert index.mask({"title": {"$contains": "x"}}) is None  # not understood: Chroma answers


@pytest.mark.parametrize("space", ["text", "image"])
def test_filtered_query_is_exact_top_k(store_and_truth, space, monkeypatch):
    from retrieval.filters import matches

    store, products, vecs = store_and_truth
    unit = vecs[space] / np.linalg.norm(vecs[space], axis=1, keepdims=True)
    rng = np.random.default_rng(5)
    for route in ("exact", "overfetch"):
        if route == "overfetch":  # broad filters to the HNSW route (and its exact fallback)
            monkeypatch.setattr(fi, "EXACT_MAX_ROWS", 10)
            monkeypatch.setattr(fi, "GATHER_MAX", 5)
        for f in _filters():
            q = rng.normal(size=unit.shape[1]).astype(np.float32)
            keep = np.array([matches(f, p) for p in products])
            sims = unit @ (q / np.linalg.norm(q))
            order = [i for i in np.argsort(-sims) if keep[i]][:10]
            got = store.query(q, space=space, where=to_where(f), k=10)
            assert [m.product.id for m in got] == [products[i].id for i in order], (route, f)
            assert np.allclose([m.similarity for m in got], sims[order], atol=1e-5)
            assert [m.product for m in got] == [products[i] for i in order]


def test_same_answers_as_chroma_filtered_query(store_and_truth):
    store, _, _ = store_and_truth
    plain = ProductStore(store.client, store.name, store.fingerprint, filtered_index="off")
    rng = np.random.default_rng(9)
    for f in _filters():
        q = rng.normal(size=TEXT_DIM).astype(np.float32)
        a = store.query(q, space="text", where=to_where(f), k=10)
        b = plain.query(q, space="text", where=to_where(f), k=10)
        assert [m.product.id for m in a] == [m.product.id for m in b], f
        assert [m.has_image for m in a] == [m.has_image for m in b]


def test_index_follows_writes_and_auto_mode_skips_small_stores(store_and_truth):
    store, _, vecs = store_and_truth
    assert ProductStore(store.client, store.name, store.fingerprint).index("text") is None  # 400 < INDEX_MIN
    before = store.index("image")
    extra = Product(id="new1", title="new", article_type="Tshirts", base_colour="Black", price=1.0)
    q = vecs["image"][0]
    store.upsert([extra], vecs["text"][:1], q[None, :], [True])
    try:
        assert store.index("image") is not before and len(store.index("image")) == N + 1
        top = store.query(q, space="image", where={"price": {"$lte": 1.0}}, k=1)
        assert [m.product.id for m in top] == ["new1"]
    finally:
        store.delete(["new1"])
    assert len(store.index("image")) == N


def test_type_slices_and_unknown_values(store_and_truth):
    store, _, _ = store_and_truth
    index = store.index("text")
    for where in ({"article_type": "Nonexistent"}, {"article_type": {"$in": ["Socks", "Nonexistent"]}},
                  {"$and": [{"article_type": {"$in": ["Jeans", "Sarees"]}}, {"base_colour": {"$nin": ["Red"]}}]},
                  {"base_colour": "Mauve"}, {"article_type": {"$ne": "Tshirts"}}):
        want = set(store.text.get(where=where, include=[])["ids"])
        assert set(index.ids[index.mask(where)]) == want, where


def test_rows_sorted_by_type_gender_colour_and_scans_read_only_matching_spans(store_and_truth):
    store, _, _ = store_and_truth
    index = store.index("text")
    keys = list(zip(*(index.cols.codes[k] for k in fi.SORT_KEYS)))
    assert keys == sorted(keys)
    mask = index.mask({"$and": [{"article_type": "Tshirts"}, {"gender": "Men"}]})
    start, end = index.slices[index.cols.vocab["article_type"]["Tshirts"]]
    assert index._scan_rows(mask) == int(mask.sum()) < end - start  # contiguous: the span is the matches
    loose = index.mask({"$and": [{"article_type": "Tshirts"}, {"base_colour": "Red"}]})  # red of each gender
    assert int(loose.sum()) < index._scan_rows(loose) < end - start


def _persistent_store(folder, name, products, vecs, **kw) -> ProductStore:
    from retrieval.store import StoreConfig, make_client

    store = ProductStore(make_client(StoreConfig(path=str(folder))), name, ToyFingerprint(), filtered_index="on", **kw)
    if products:
        store.upsert(products, vecs["text"], vecs["image"], [True] * len(products))
    return store


def test_saved_index_is_reused_at_the_next_start_and_refused_once_the_store_changed(store_and_truth, tmp_path,
                                                                                   monkeypatch):
    _, products, vecs = store_and_truth
    first = _persistent_store(tmp_path, "saved", products, vecs)
    built = first.index("text")
    assert (tmp_path / "shopassist_index" / "saved_text" / "vectors.npy").is_file()

    calls = []
    real_read = fi.index_from_collection
    monkeypatch.setattr("retrieval.filtered_index.index_from_collection", lambda coll: calls.append(coll.name) or real_read(coll))
    second = _persistent_store(tmp_path, "saved", [], vecs)  # a new process, say: nothing written
    loaded = second.index("text")
    assert calls == [] and list(loaded.ids) == list(built.ids)
    rng = np.random.default_rng(5)
    for f in _filters()[:12]:
        q = rng.normal(size=TEXT_DIM).astype(np.float32)
        assert ([m.product.id for m in second.query(q, space="text", where=to_where(f), k=10)]
                == [m.product.id for m in first.query(q, space="text", where=to_where(f), k=10)]), f

    # another writer (same count: one product replaced by another) -> generation differs -> rebuilt
    extra = Product(id="new9", title="new", article_type="Socks", base_colour="Red", price=2.0)
    writer = _persistent_store(tmp_path, "saved", [], vecs)
    writer.delete([products[0].id])
    writer.upsert([extra], vecs["text"][:1], vecs["image"][:1], [True])
    third = _persistent_store(tmp_path, "saved", [], vecs)
    fresh = third.index("text")
    assert calls == ["saved_text"] and "new9" in set(fresh.ids) and products[0].id not in set(fresh.ids)


def test_damaged_saved_index_is_rebuilt(store_and_truth, tmp_path, caplog):
    _, products, vecs = store_and_truth
    store = _persistent_store(tmp_path, "damaged", products[:50], vecs | {"text": vecs["text"][:50],
                                                                          "image": vecs["image"][:50]})
    store.index("image")
    (tmp_path / "shopassist_index" / "damaged_image" / "columns.npz").write_bytes(b"not a zip")
    again = _persistent_store(tmp_path, "damaged", [], vecs)
    assert len(again.index("image")) == 50 and "unreadable" in caplog.text
    assert fi.FilteredIndex.load(tmp_path / "shopassist_index" / "damaged_image", {"other": 1}) is None


def test_facet_counts_from_the_index_equal_chromas(store_and_truth):
    from retrieval.facets import facet_counts

    store, _, _ = store_and_truth
    plain = ProductStore(store.client, store.name, store.fingerprint, filtered_index="off")
    for where in (None, {"article_type": "Tshirts"}, {"$and": [{"gender": "Men"}, {"price": {"$lte": 40.0}}]}):
        attrs = ("gender", "article_type", "base_colour")
        assert facet_counts(store, where, attrs) == facet_counts(plain, where, attrs, limit=10_000), where
