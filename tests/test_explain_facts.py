"""Why a product fits a request (assistant.explain.matches_for) and the facts-only sentence
written from it (facts_sentence): pure, no model."""

from __future__ import annotations

import pytest

from assistant.dialogue import Constraints
from assistant.explain import Match, facts_sentence, matches_for
from retrieval.catalog import Product
from retrieval.filters import ProductFilter

DRESS = Product("d1", "Brand Women Red Floral Dress", gender="Women", article_type="Dresses", base_colour="Red",
                usage="Party", price=35.99)


def _kinds(ms) -> list[tuple[str, bool]]:
    return [(m.kind, m.asked) for m in ms]


def test_asked_attributes_come_first_then_the_facts():
    c = Constraints(ProductFilter(genders=("Women",), usages=("Party",), max_price=40), words=("floral",))
    ms = matches_for(DRESS, c, image_reference="your photo", reasons=("like items you liked",))
    assert _kinds(ms) == [("gender", True), ("usage", True), ("price", True), ("words", True), ("image", True),
                          ("feedback", False), ("colour", False), ("article_type", False)]
    assert [m.text for m in ms] == ["for women", "party wear", "$35.99, under 40", "floral", "looks like your photo",
                                    "like items you liked", "red", "dresses"]


def test_an_asked_attribute_is_not_repeated_as_a_fact():
    c = Constraints(ProductFilter(colours=("Red", "Blue"), article_types=("Dresses",)))
    ms = matches_for(DRESS, c)
    assert ms == (Match("colour", "red", True), Match("article_type", "dresses", True), Match("price", "$35.99", False))


def test_an_attribute_the_product_lacks_is_not_called_a_match():
    c = Constraints(ProductFilter(colours=("Blue",), genders=("Men",), usages=("Casual",)))
    ms = matches_for(DRESS, c)
    assert not any(m.asked for m in ms)
    assert _kinds(ms) == [("colour", False), ("article_type", False), ("price", False)]
    assert [m.text for m in ms] == ["red", "dresses", "$35.99"]  # the product's own facts, not the request


def test_nothing_asked_gives_the_product_facts():
    ms = matches_for(DRESS, Constraints())
    assert ms == (Match("colour", "red", False), Match("article_type", "dresses", False),
                  Match("price", "$35.99", False))
    bare = Product("b1", "Something", price=None)
    assert matches_for(bare, Constraints()) == ()


@pytest.mark.parametrize("filt, text", [
    (ProductFilter(max_price=40), "$35.99, under 40"),
    (ProductFilter(max_price=35.99), "$35.99, under 35.99"),
    (ProductFilter(min_price=20), "$35.99, over 20"),
    (ProductFilter(min_price=20.5), "$35.99, over 20.5"),
])
def test_price_bounds_text(filt, text):
    price = [m for m in matches_for(DRESS, Constraints(filt)) if m.kind == "price"]
    assert price == [Match("price", text, True)]


def test_both_price_bounds_name_the_price_and_the_cap():
    price = next(m for m in matches_for(DRESS, Constraints(ProductFilter(min_price=20, max_price=40)))
                 if m.kind == "price")
    assert price.asked and price.text.startswith("$35.99, ") and "40" in price.text


def test_a_price_outside_the_asked_bound_is_not_called_a_match():
    ms = matches_for(DRESS, Constraints(ProductFilter(max_price=20)))
    assert not any(m.asked for m in ms)
    assert Match("price", f"${DRESS.price:.2f}", False) in ms  # still a fact
    inside = matches_for(DRESS, Constraints(ProductFilter(min_price=DRESS.price - 1, max_price=DRESS.price + 1)))
    assert Match("price", f"${DRESS.price:.2f}, between {DRESS.price - 1:g} and {DRESS.price + 1:g}", True) in inside


def test_words_match_whole_words_of_the_title():
    c = Constraints(words=("floral", "silk", "dre", "brand"))
    words = [m for m in matches_for(DRESS, c) if m.kind == "words"]
    assert words == [Match("words", "floral and brand", True)]  # "dre" is not a word of the title, "silk" is absent
    assert not [m for m in matches_for(DRESS, Constraints(words=("silk",))) if m.kind == "words"]
    tee = Product("t1", "Nike Men's T-Shirt", article_type="Tshirts", base_colour="Black", price=20.0)
    assert Match("words", "tshirt", True) in matches_for(tee, Constraints(words=("tshirt",)))  # normalised title


def test_image_reference_is_named_only_when_given():
    assert Match("image", "looks like 'Brand Red Dress'", True) in matches_for(
        DRESS, Constraints(), image_reference="'Brand Red Dress'")
    assert not any(m.kind == "image" for m in matches_for(DRESS, Constraints(), image_reference=None))


# --- facts_sentence -----------------------------------------------------------------------
def test_facts_sentence_says_what_was_asked_then_the_facts_in_brackets():
    c = Constraints(ProductFilter(colours=("Red",), max_price=40))
    assert facts_sentence(matches_for(DRESS, c)) == "Matches your request: red, $35.99, under 40 (dresses)."
    c = Constraints(ProductFilter(colours=("Red",), article_types=("Dresses",), max_price=40))
    assert facts_sentence(matches_for(DRESS, c)) == "Matches your request: red, dresses, $35.99, under 40."


def test_facts_sentence_with_nothing_asked_lists_the_facts():
    assert facts_sentence(matches_for(DRESS, Constraints())) == "Red, dresses, $35.99."
    assert facts_sentence(()) == ""


def test_facts_sentence_names_the_picture_and_keeps_match_order():
    ms = matches_for(DRESS, Constraints(), image_reference="your photo")
    assert facts_sentence(ms) == "Matches your request: looks like your photo (red, dresses, $35.99)."
    order = (Match("price", "b", True), Match("colour", "a", True), Match("article_type", "z", False))
    assert facts_sentence(order) == "Matches your request: b, a (z)."
