"""The hand-written understanding sets are well formed, and the evaluation runs end to end
(over the toy shop, on a few requests written for it)."""

from __future__ import annotations

import json

import pytest

from assistant.eval_understanding import (
    DATA_DIR,
    KNOWN_FACETS,
    PRICE_FACETS,
    evaluate,
    load_requests,
    read_requests,
    relevant,
)
from assistant.eval_understanding_report import format_report
from retrieval.catalog import SAMPLE_CATALOG, read_catalog, split_of
from tests.helpers import toy_assistant

SPLIT_OF_SET = {"dev": "val", "test": "test"}


@pytest.fixture(scope="module")
def catalog():
    return read_catalog(SAMPLE_CATALOG)


def suite_k(suite: dict) -> int:
    return 5 if "last_turn" in suite else 10


def _relevances(req: dict) -> list[dict]:
    return [t["relevance"] for t in req["turns"]] if req["type"] == "conversation" else [req["relevance"]]


@pytest.mark.parametrize("split", ["dev", "test"])
def test_sets_are_well_formed(split, catalog):
    reqs = load_requests(split)
    by_id = catalog.by_id()
    values = {f: set(catalog.facet_values(f)) for f in ("gender", "master_category", "sub_category", "article_type",
                                                       "base_colour", "usage")}
    ids = set()
    for kind, items in reqs.items():
        for req in items:
            assert req["id"] not in ids, req["id"]
            ids.add(req["id"])
            anchor = req.get("photo") or req.get("product")
            assert anchor in by_id, req["id"]
            assert split_of(anchor) == SPLIT_OF_SET[split], f"{req['id']}: product {anchor} is not in {split}"
            steps = req["turns"] if kind == "conversation" else [req]
            assert kind != "conversation" or 3 <= len(steps) <= 5, req["id"]
            for step in steps:
                assert step["kind"] and step["text"].strip(), req["id"]
            for rel in _relevances(req):
                for name, accepted in rel.items():
                    assert name in KNOWN_FACETS, (req["id"], name)
                    if name not in PRICE_FACETS:
                        unknown = set(accepted) - values[name.removeprefix("not_")]
                        assert not unknown, f"{req['id']}: {name} has values not in the catalog: {unknown}"
                exclude = req.get("photo")
                assert any(p.id != exclude and relevant(rel, p) for p in catalog.products), \
                    f"{req['id']}: no product of the catalog is relevant to {rel}"
            if kind == "single":
                assert relevant(req["relevance"], by_id[req["product"]]), \
                    f"{req['id']}: the product it was written for does not meet its own relevance"


def test_sizes_match_the_brief():
    dev, test = load_requests("dev"), load_requests("test")
    total = {k: len(dev[k]) + len(test[k]) for k in dev}
    assert total["single"] >= 150 and total["conversation"] >= 30 and total["composed"] >= 100
    assert all(len(dev[k]) > 2 * len(test[k]) for k in dev)  # most of it over val products


def test_evaluation_runs_over_the_toy_shop(tmp_path):
    """The toy shop: 4 colours x (Tshirts, Casual/Sports/Formal Shoes, Watches) x (Men, Women)."""
    shop = toy_assistant(tmp_path)
    products = read_catalog(tmp_path / "products.csv").products
    photo = next(p for p in products if p.article_type == "Tshirts" and p.base_colour == "Red" and p.gender == "Men")
    lines = [
        {"id": "s1", "type": "single", "kind": "plain", "product": "s1", "text": "red tshirts for men",
         "relevance": {"article_type": ["Tshirts"], "base_colour": ["Red"], "gender": ["Men", "Unisex"]}},
        {"id": "s2", "type": "single", "kind": "budget", "product": "s2", "text": "watches under 30",
         "relevance": {"article_type": ["Watches"], "max_price": 30}},
        {"id": "s3", "type": "single", "kind": "negation", "product": "s3", "text": "shoes, not black",
         "relevance": {"article_type": ["Casual Shoes", "Sports Shoes", "Formal Shoes"], "not_base_colour": ["Black"]}},
        {"id": "c1", "type": "composed", "kind": "colour", "photo": photo.id, "text": "like this but in blue",
         "relevance": {"article_type": ["Tshirts"], "gender": ["Men", "Unisex"], "base_colour": ["Blue"]}},
        {"id": "v1", "type": "conversation", "product": "s1", "turns": [
            {"text": "tshirts for women", "kind": "open", "relevance": {"article_type": ["Tshirts"], "gender": ["Women"]}},
            {"text": "in green", "kind": "colour",
             "relevance": {"article_type": ["Tshirts"], "gender": ["Women"], "base_colour": ["Green"]}},
            {"text": "for men", "kind": "gender",
             "relevance": {"article_type": ["Tshirts"], "gender": ["Men"], "base_colour": ["Green"]}}]},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = evaluate(shop.shop.parts, products, read_requests(path), progress=False)
    single, composed, conv = result["single"], result["composed"], result["conversation"]
    assert single["systems"]["ours_session"]["requests"] == 3
    for suite in (single, composed, conv):
        requests = suite["systems"]["ours_session"]["requests"]
        assert 0 <= suite["identical_lists"]["ours_session==parser_session"] <= requests
        for name, col in suite["systems"].items():
            assert col["errors"] == 0, (name, col)
            assert 0 <= col[f"P@{suite_k(suite)}"] <= 1 and set(col["by_kind"]) <= {"plain", "budget", "negation", "colour",
                                                                                "open", "gender"}
    assert composed["systems"]["late_fusion"]["requests"] == 1
    assert conv["systems"]["ours_session"]["requests"] == 3 and "last_turn" in conv
    assert set(result["headline"]) >= {"single_P@10", "composed_P@10", "conversation_P@5_per_turn"}
    assert "ALL" in format_report(result)


def test_relevance_reads_every_kind_of_facet(catalog):
    p = catalog.products[0]
    assert relevant({"gender": [p.gender]}, p)
    assert not relevant({"not_gender": [p.gender]}, p)
    assert relevant({"max_price": p.price, "min_price": p.price}, p)
    assert not relevant({"max_price": p.price - 0.01}, p)
    assert DATA_DIR.joinpath("README.md").is_file()
