"""Store, ingestion and search on an in-memory Chroma with tiny encoders (random-init tower)."""

import chromadb
import numpy as np
import pytest
import torch
from chromadb.config import Settings

from adapters.alignment import AlignmentAdaptor
from adapters.config import AlignmentConfig
from adapters.imaging import load_image
from adapters.product_encoder import EncoderFingerprint, ProductEncoder
from retrieval.catalog import read_catalog
from retrieval.filters import ProductFilter
from retrieval.ingest import ingest, read_vocabulary
from retrieval.query_parser import QueryError, QueryParser
from retrieval.search import ProductSearch
from retrieval.store import ProductStore, StoreMismatchError, drop_store
from tests.helpers import ColourImageEncoder, HashTextEncoder, toy_catalog


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=4, text_dim=32, shared_dim=8, image_projector="linear"))
    return ProductEncoder(ColourImageEncoder(), HashTextEncoder(32), adaptor.eval(), "toy")


@pytest.fixture
def client():
    # EphemeralClient instances share one in-memory system per process: start each test empty.
    c = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False, allow_reset=True))
    c.reset()
    return c


@pytest.fixture
def catalog(tmp_path):
    return read_catalog(toy_catalog(tmp_path))


def _store(client, encoder, name="t"):
    return ProductStore(client, name, encoder.fingerprint)


def test_ingest_is_idempotent_and_complete(client, encoder, catalog):
    store = _store(client, encoder)
    first = ingest(catalog, store, encoder, load_image, batch_size=5, progress=False)
    assert first.added == 16 and store.count() == 16
    again = ingest(catalog, store, encoder, load_image, batch_size=5, progress=False)
    assert again.added == 0 and again.unchanged == 16 and store.count() == 16
    assert set(read_vocabulary(store).colours) == {"Red", "Blue", "Black", "Green"}


def test_interrupted_ingest_resumes_without_duplicates(client, encoder, catalog):
    store = _store(client, encoder)
    calls = {"n": 0}

    def flaky_loader(path):
        calls["n"] += 1
        if calls["n"] > 7:
            raise KeyboardInterrupt  # the process dies mid-run
        return load_image(path)

    with pytest.raises(KeyboardInterrupt):
        ingest(catalog, store, encoder, flaky_loader, batch_size=4, write_rows=4, progress=False)
    assert store.count() == 4  # the first batch landed (a write per batch here)
    report = ingest(catalog, store, encoder, load_image, batch_size=4, progress=False)
    assert report.added == 12 and report.unchanged == 4
    assert sorted(store.all_ids()) == sorted(p.id for p in catalog.products)
    stored = store.get_vectors(["p1"], "image")["p1"]
    fresh = encoder.embed_images([load_image(catalog.by_id()["p1"].image)])[0]
    assert np.allclose(stored, fresh, atol=1e-5)


def test_changed_row_is_re_embedded_and_prune_removes(client, encoder, catalog, tmp_path):
    store = _store(client, encoder)
    ingest(catalog, store, encoder, load_image, progress=False)
    from dataclasses import replace

    catalog.products[0] = replace(catalog.products[0], title="Brand Men Red Tshirts v2")
    catalog.products.pop()
    report = ingest(catalog, store, encoder, load_image, prune=True, progress=False)
    assert report.added == 1 and report.removed == 1 and store.count() == 15
    assert store.get(["p1"])[0].title.endswith("v2")


def test_corrupt_image_is_reported_and_indexed_by_text(client, encoder, catalog):
    with open(catalog.by_id()["p3"].image, "wb") as f:
        f.write(b"garbage")
    store = _store(client, encoder)
    report = ingest(catalog, store, encoder, load_image, progress=False)
    assert report.without_image == 1 and store.count() == 16
    issue = next(i for i in report.issues if i.product_id == "p3")
    assert issue.field == "image" and "not an image" in issue.reason and issue.action == "indexed without image"
    assert issue.row == 4  # p3 is on line 4 of the CSV


def test_store_refuses_other_encoders(client, encoder, catalog):
    store = _store(client, encoder)
    ingest(catalog, store, encoder, load_image, progress=False)
    other = EncoderFingerprint("other-tower", "hash-text-32", "toy", 8, 32)
    with pytest.raises(StoreMismatchError, match="--rebuild"):
        ProductStore(client, "t", other)
    with pytest.raises(StoreMismatchError, match="dims"):
        store.query(np.zeros(5), space="image", where=None, k=3)
    drop_store(client, "t")  # what --rebuild does: then the other encoders may build it
    assert ProductStore(client, "t", other).count() == 0


def test_search_routes(client, encoder, catalog):
    store = _store(client, encoder)
    ingest(catalog, store, encoder, load_image, progress=False)
    search = ProductSearch(store, encoder, QueryParser(read_vocabulary(store)))
    hits = search.search(text="red tshirts for women under 100", k=5)
    assert hits and all(h.product.base_colour == "Red" and h.product.article_type == "Tshirts"
                        and h.product.gender == "Women" for h in hits)
    assert "filter:base_colour=Red" in hits[0].signals
    ref = load_image(catalog.by_id()["p1"].image)  # a red men's t-shirt
    image_hits = search.search(image=ref, k=3, exclude_ids=("p1",))
    assert "p1" not in [h.product.id for h in image_hits] and len(image_hits) == 3
    composed = search.run(text="like this but in blue", image=ref, k=3, exclude_ids=("p1",))
    assert composed.hits and all(h.product.base_colour == "Blue" for h in composed.hits)
    assert composed.filter.colours == ("Blue",)
    explicit = search.search(text="tshirts", filters=ProductFilter(max_price=20), k=10)
    assert explicit and all(h.product.price <= 20 for h in explicit)


def test_search_bad_queries(client, encoder, catalog):
    store = _store(client, encoder)
    ingest(catalog, store, encoder, load_image, progress=False)
    search = ProductSearch(store, encoder, QueryParser(read_vocabulary(store)))
    for kwargs, msg in (({}, "empty query"), ({"text": "   "}, "empty query"), ({"text": "x" * 10_000}, "limit"),
                        ({"text": "shirt", "k": 0}, "out of range")):
        with pytest.raises(QueryError, match=msg):
            search.search(**kwargs)
    # nothing matches: an empty answer, not an error
    assert search.search(text="tshirts", filters=ProductFilter(colours=("Purple",))) == []


def test_tower_readings_mix_with_the_neighbours_vote():
    from retrieval.photo_edits import mix_readings

    votes = {("Shirts", "Red"): 3.0, ("Shirts", "Maroon"): 1.0}
    heads = [{"Shirts": 0.9, "Tops": 0.1}, {"Red": 0.2, "Maroon": 0.7, "Pink": 0.1}]
    assert mix_readings(votes, heads, 0.0) == votes  # weight 0: the neighbours alone
    assert mix_readings(votes, [None, heads[1]], 0.8) == votes  # a field the heads cannot read
    mixed = mix_readings(votes, heads, 1.0)
    assert max(mixed, key=mixed.get) == ("Shirts", "Maroon")  # weight 1: the heads decide
    assert ("Tops", "Pink") in mixed  # the heads' own likeliest combinations are candidates too
    half = mix_readings(votes, heads, 0.5)
    assert half[("Shirts", "Red")] == pytest.approx(0.5 * 0.75 + 0.5 * 0.18 / sum(
        a * b for a in heads[0].values() for b in heads[1].values()))
    assert sum(half.values()) == pytest.approx(1.0)
