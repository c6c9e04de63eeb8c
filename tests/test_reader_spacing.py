"""Typos and spacing in the request reader: neighbouring words are joined for spacing errors
("back pack"), but never across a function word ("show me cheaper ones" once read "shoes",
and a conversation about leggings turned to shoes: found by bench/bench_assistant.py)."""

import pytest


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


@pytest.mark.parametrize("text, types", [
    ("brown casul shoes men", ("Casual Shoes",)),  # the head alone ("shoes") read every kind of shoe
    ("formall shoes for men", ("Formal Shoes",)),
    ("sprots shoes", ("Sports Shoes",)),
    ("lapto bag", ("Laptop Bag",)),
    ("trak pants", ("Track Pants",)),
    ("brown shoes", ("Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats")),  # no typo: every kind
])
def test_a_typo_in_the_word_before_a_kinds_head(reader, text, types):
    parsed = reader.parse(text)
    assert parsed.filter.article_types == types and not parsed.free_words


@pytest.mark.parametrize("text, genders", [
    ("white wrist watch for womn", ("Women",)),
    ("ladis handbag", ("Women",)),
    ("kurta for femal", ("Women",)),
    ("grils dress", ("Girls",)),
    ("nice shoes", ()),  # a relative ("niece") is read only as written
])
def test_a_typo_in_who_it_is_for(reader, text, genders):
    assert reader.parse(text).filter.genders == genders


@pytest.mark.parametrize("text, free", [
    ("a darker version", ()),  # the lead said "Here are 5 products (version)"
    ("an evening version of this bag", ("evening",)),
    ("a pair of black jeans", ()),
])
def test_words_that_say_nothing_of_the_item_are_not_kept(reader, text, free):
    assert reader.parse(text).free_words == free
