"""Typos and spacing in the request reader: neighbouring words are joined for spacing errors
("back pack"), but never across a function word ("show me cheaper ones" once read "shoes",
and a conversation about leggings turned to shoes: found by bench/bench_assistant.py)."""

import pytest

from retrieval.catalog import SAMPLE_CATALOG, read_catalog
from retrieval.query_parser import Vocabulary
from retrieval.reader import RequestReader


@pytest.fixture(scope="module")
def reader():
    return RequestReader(Vocabulary.from_products(read_catalog(SAMPLE_CATALOG).products))


@pytest.mark.parametrize("text, types", [
    ("back pack for school", ("Backpacks",)),
    ("a t shrt for men", ("Tshirts",)),
    ("sun glasses", ("Sunglasses",)),
    ("show me black sunglsses", ("Sunglasses",)),
    ("show me cheaper ones", ()),
    ("can you show me something", ()),
])
def test_joined_neighbours_and_function_words(reader, text, types):
    assert reader.parse(text).filter.article_types == types


def test_a_refinement_keeps_only_its_price_move(reader):
    parsed = reader.parse("show me cheaper ones")
    assert parsed.relative_price == "lower" and not parsed.filter.article_types and not parsed.filter.colours
