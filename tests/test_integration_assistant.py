"""One end-to-end conversation on the real default: packaged encoders and trained adaptors,
SmolLM2 with the trained MLLM adaptors writing, over a catalog slice."""

import csv

import pytest

from retrieval.filters import matches
from tests.conftest import SAMPLE_CATALOG
from tests.helpers import copy_catalog_rows

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_assistant(tmp_path_factory):
    from assistant.core import Assistant
    from assistant.services import ingest_catalog
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog

    folder = tmp_path_factory.mktemp("assistant-slice")
    with SAMPLE_CATALOG.open() as f:
        rows = [r for r in csv.DictReader(f) if r["article_type"] in ("Casual Shoes", "Sports Shoes", "Tshirts")][:300]
    path = copy_catalog_rows(rows, SAMPLE_CATALOG, folder)
    settings = Settings(catalog=path, store_dir=folder / "store", collection="slice")
    ingest_catalog(settings, read_catalog(path), progress=False)
    return Assistant.from_settings(settings, generator=False)


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
    assert all(p.product.price <= s.constraints.filter.max_price for p in cheaper.products)
    white = s.send("in white")
    assert s.constraints.filter.colours == ("White",) and s.constraints.filter.genders == ("Men",)
    assert white.products or white.relaxation
