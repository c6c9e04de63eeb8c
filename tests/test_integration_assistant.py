"""One end-to-end conversation on the real default: packaged encoders and trained adaptors,
SmolLM2 with the trained MLLM adaptors writing, over a catalog slice."""

import csv

import pytest

from retrieval.filters import matches
from tests.conftest import SAMPLE_CATALOG
from tests.helpers import copy_catalog_rows

pytestmark = pytest.mark.integration
SLICE_TYPES = ("Casual Shoes", "Sports Shoes", "Tshirts")


def _slice_rows() -> list[dict]:
    with SAMPLE_CATALOG.open() as f:
        return [r for r in csv.DictReader(f) if r["article_type"] in SLICE_TYPES][:300]


def _slice_products():
    from retrieval.catalog import read_catalog

    ids = {r["id"] for r in _slice_rows()}
    return [p for p in read_catalog(SAMPLE_CATALOG).products if p.id in ids]


@pytest.fixture(scope="module")
def real_assistant(tmp_path_factory):
    from assistant.services import ingest_catalog, load_assistant
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog

    folder = tmp_path_factory.mktemp("assistant-slice")
    path = copy_catalog_rows(_slice_rows(), SAMPLE_CATALOG, folder)
    settings = Settings(catalog=path, store_dir=folder / "store", collection="slice")
    ingest_catalog(settings, read_catalog(path), progress=False)
    return load_assistant(settings, generator=False)


def test_a_real_conversation(real_assistant):
    a = real_assistant
    assert a.status["llm"].startswith("embedded") and "lora" in a.status["llm"]
    s = a.new_session(user="it")
    turn = s.start("black sneakers for men")
    assert turn.products  # before any word is written
    pieces = list(turn.stream())
    first = turn.finish()
    assert first.text == "".join(pieces).strip() and len(pieces) > 3
    assert all(matches(s.constraints.filter, p.product) for p in first.products)
    checker = a.explainer.checker
    for shown in first.products:
        e = shown.explanation
        assert e.text and all(c.supported for c in checker.claims(e.text, shown.product))
        assert e.mentions_request
    cheaper = s.send("cheaper")
    prices = [p.product.price for p in first.products]
    assert s.constraints.filter.max_price < max(prices)
    cap = s.constraints.filter.max_price
    assert cheaper.products and cheaper.relaxation is None
    assert all(matches(s.constraints.filter, p.product) for p in cheaper.products)
    white = s.send("in white")
    f = s.constraints.filter
    assert f.colours == ("White",) and f.genders == ("Men",) and f.max_price == cap
    # the slice holds white sneakers for men under that cap: a request it can answer, so no relaxation
    assert any(matches(f, p) for p in _slice_products())
    assert white.products and white.relaxation is None
    assert all(matches(f, p.product) for p in white.products)
