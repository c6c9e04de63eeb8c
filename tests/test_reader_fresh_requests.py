"""Found on a fresh batch of hand-written requests (session 10, over `val` products, run once
before any change): a negation cue kept as a description emptied the page ("blue shirt for men,
nothing formal" answered "Nothing in the catalog matches"), possessive people words were not
read ("my husband's"), the near-colour fill left the asked colour's hue ("lilac" filled with
silver and grey before purple), "like this for the office" on a woman's tunic showed men's
formal shoes, and a few everyday words were missing. Each test fails on the code before."""

from dataclasses import dataclass

import numpy as np
import pytest

from retrieval.catalog import Product
from retrieval.colours import near_colours
from retrieval.filters import ProductFilter
from retrieval.photo_edits import Edits
from retrieval.reader import RequestReader
from retrieval.search import ProductSearch


def test_a_negation_cue_is_not_a_description(reader):
    parsed = reader.parse("checked blue shirt for men, nothing formal")
    assert parsed.filter.exclude_usages == ("Formal",)
    assert "nothing" not in parsed.free_words and "checked" in parsed.free_words
    # the words are searched again as text: they must not negate the kind they stand before
    again = reader.parse(" ".join([*parsed.filter.colours, *parsed.free_words, *parsed.filter.article_types]))
    assert again.filter.article_types == ("Shirts",) and not again.filter.exclude_article_types


@pytest.mark.parametrize("text, genders", [
    ("shirt for my husband's birthday", ("Men",)),
    ("watch for my dads birthday", ("Men",)),
    ("a dress for my daughter's party", ("Girls",)),
    ("gifts for moms", ("Women",)),
])
def test_possessive_and_plural_people_say_who_it_is_for(reader, text, genders):
    assert reader.parse(text).filter.genders == genders


@pytest.mark.parametrize("text, types", [
    ("black braces", ("Suspenders",)),
    ("grey undershirt for men", ("Innerwear Vests",)),
    ("a white singlet", ("Innerwear Vests",)),
])
def test_everyday_words_for_kinds(reader, text, types):
    assert reader.parse(text).filter.article_types == types


def test_silver_stays_exact_and_steel_is_its_near_colour(reader, vocab):
    # the catalog's Steel watches and cufflinks look silver: a short page of Silver fills with them
    assert reader.parse("silver watch for women").filter.colours == ("Silver",)
    assert "Steel" in near_colours(("Silver",), vocab.colours, n=4, max_delta_e=45)


def test_the_near_colour_fill_keeps_the_hue(vocab):
    assert "Purple" in near_colours(("Lavender",), vocab.colours, n=4, max_delta_e=45)
    assert near_colours(("Navy Blue",), vocab.colours, n=4, max_delta_e=45)[0] == "Blue"
    assert near_colours(("Blue",), vocab.colours, n=4, max_delta_e=45)[0] == "Navy Blue"
    # an achromatic colour still fills by plain distance
    assert near_colours(("Cream",), vocab.colours, n=2, max_delta_e=45) == ("Beige", "Off White")


@dataclass
class _Match:
    product: Product
    similarity: float
    has_image: bool = True


class _Store:
    """Answers every query with one woman's tunic and records the filters asked."""

    def __init__(self):
        self.wheres = []

    def query(self, vector, *, space, where, k):
        self.wheres.append(where)
        tunic = Product(id="1", title="Women Red Tunic", image="x.jpg", article_type="Tunics", base_colour="Red",
                        gender="Women", usage="Casual", price=19.0)
        return [_Match(tunic, 0.9)]


class _Embedder:
    def read_images(self, images):
        return np.ones((1, 4), np.float32), None


def test_another_usage_of_a_photo_keeps_whom_it_is_for(vocab, reader):
    store = _Store()
    search = ProductSearch(store, _Embedder(), reader)
    search._photo_edit(object(), Edits(usages=("Formal",)), ProductFilter())
    usage_queries = [w for w in store.wheres if w and "Formal" in str(w)]
    assert usage_queries and all("Women" in str(w) for w in usage_queries)


def test_a_lighter_or_darker_blue_is_a_kind_of_blue(vocab):
    space = RequestReader(vocab).colours
    assert space.shifted(("Blue",), "lighter") == ("Turquoise Blue",)  # was Lavender: a purple
    assert space.shifted(("Navy Blue",), "lighter")[0] == "Blue"  # was Charcoal, Steel
    assert space.shifted(("Blue",), "darker") == ("Navy Blue",)


def test_an_asked_colour_stays_when_no_shade_of_it_lies_that_way(reader):
    # "paler please" after blue: the catalog's only lighter blue is another hue, so Blue stays
    assert reader.shift_colours(("Blue",), "lighter", asked=True) == ("Blue", "Turquoise Blue")
    # "a darker one" after blue: Navy Blue is a darker blue, so Blue goes
    assert reader.shift_colours(("Blue",), "darker", asked=True) == ("Navy Blue",)
    # a photo's colour is no asked colour: it is left behind
    assert reader.shift_colours(("Blue",), "lighter") == ("Turquoise Blue",)


def test_toning_down_takes_the_quiet_colours_too(reader):
    moved = reader.shift_colours(("Yellow",), "muted")
    assert {"Black", "Grey", "White"} <= set(moved) and "Yellow" not in moved


def test_more_colourful_is_a_move_and_from_grey_it_means_any_colourful_one(reader, vocab):
    assert reader.parse("similar kurta but more colourful").absolute_colour is False
    assert reader.parse("something colourful").absolute_colour is True
    moved = RequestReader(vocab).colours.shifted(("Grey",), "brighter")
    assert moved and all(c not in ("Steel", "Metallic", "Silver") for c in moved)  # was Steel, Metallic


@pytest.mark.parametrize("text", ["something like this but more subdued", "less colourful please", "calmer colours"])
def test_more_ways_to_tone_a_colour_down(reader, text):
    assert reader.parse(text).relative_colour == "muted"


def test_darker_than_a_photo_that_may_be_navy_or_black_is_black(vocab, reader):
    from retrieval.photo_edits import PhotoLook, edit_from_photo
    look = PhotoLook(colour="Black", article_type="Tshirts", gender="Men", colours=("Black", "Navy Blue"))
    filt, _ = edit_from_photo(Edits(relative_colour="darker"), ProductFilter(), look, vocab, reader.shift_colours)
    assert filt.colours == ("Black",)  # was no move at all: the page showed navy tees


def test_a_likely_reading_of_a_photo_takes_more_of_the_page():
    from retrieval.photo_edits import read_hypotheses
    from retrieval.search import SearchConfig

    def match(gender, sim):
        return _Match(Product(id=f"{gender}{sim}", title="Shirt", image="x.jpg", article_type="Shirts",
                              base_colour="Red", gender=gender), sim)

    neighbours = [match("Men", 0.9), match("Men", 0.8), match("Men", 0.5), match("Women", 0.9)]  # 71% / 29%

    def slots(power):
        return [n for _, n in read_hypotheses(neighbours, ProductFilter(article_types=("Shirts",)), 10,
                                              ("article_types", "genders"), None, SearchConfig(hypothesis_power=power))]

    assert slots(1.0) == [8, 2]
    assert slots(2.0) == [9, 1]  # the default: a woman's shirt keeps one slot beside a man's
    assert SearchConfig().hypothesis_power == 2.0


class _ReadingEmbedder(_Embedder):
    def embed_texts_shared(self, texts):
        return np.ones((len(texts), 4), np.float32)

    def embed_texts(self, texts):
        return np.ones((len(texts), 4), np.float32)


class _VectorStore(_Store):
    def get_vectors(self, ids, space):
        return {i: np.ones(4, np.float32) for i in ids}


def test_a_kind_guessed_from_the_words_never_outranks_the_photos_own(reader):
    store = _VectorStore()
    search = ProductSearch(store, _ReadingEmbedder(), reader)
    search.run("same but in black, a pack", object(), soft=ProductFilter(article_types=("Backpacks",)), k=5)
    assert store.wheres and not any("Backpacks" in str(w) for w in store.wheres)


@pytest.mark.parametrize("text, first", [
    ("tangerine tshirt for men", "Orange"),  # a survey word no hand table had
    ("chrome watch for women", "Silver"),
    ("baby pink top", "Mauve"),  # a pink, not Skin or Nude
    ("light blue jeans", "Blue"),  # was Metallic: a chromatic word maps to a colour of its hue
])
def test_colour_words_from_the_survey_and_of_their_hue(reader, text, first):
    assert reader.parse(text).filter.colours[0] == first


def test_the_catalogs_own_colour_names_stay_exact_and_a_pale_colour_is_a_move(reader):
    assert reader.parse("charcoal clutch").filter.colours == ("Charcoal",)
    assert reader.parse("bronze sandals").filter.colours == ("Bronze",)
    pale = reader.parse("a pale pink top")
    assert pale.filter.colours[0] == "Pink"  # "pale pink" is pink moved lighter, not a survey swatch
    assert reader.parse("something for a beach holiday").filter.colours == ()  # "sea", "sky" are no colours


def _where_ok(where, p: Product) -> bool:
    if not where:
        return True
    if "$and" in where:
        return all(_where_ok(w, p) for w in where["$and"])
    (attr, cond), = where.items()
    value = getattr(p, attr)
    if isinstance(cond, dict):
        op, arg = next(iter(cond.items()))
        return {"$in": lambda: value in arg, "$nin": lambda: value not in arg,
                "$lte": lambda: value is not None and value <= arg, "$gte": lambda: value is not None and value >= arg}[op]()
    return value == cond


class _CatalogStore:
    """A few products answered by their filters, nearest first in list order."""

    def __init__(self, products):
        self.products = products

    def query(self, vector, *, space, where, k):
        found = [p for p in self.products if _where_ok(where, p)]
        return [_Match(p, 0.9 - 0.01 * i) for i, p in enumerate(found[:k])]

    def get_vectors(self, ids, space):
        return {i: np.ones(4, np.float32) for i in ids}


def test_a_short_page_takes_the_other_readings_kind_in_the_asked_colour_before_near_colours(reader):
    def item(i, kind, colour):
        return Product(id=str(i), title=kind, image="x.jpg", article_type=kind, base_colour=colour, gender="Women")

    # the photo reads as a top (6 neighbours) or a tunic (4); one teal top exists, four teal tunics
    neighbours = [item(i, "Tops", "Red") for i in range(6)] + [item(10 + i, "Tunics", "Red") for i in range(4)]
    teal = [item(20, "Tops", "Teal")] + [item(30 + i, "Tunics", "Teal") for i in range(4)]
    near = [item(40 + i, "Tops", "Turquoise Blue") for i in range(6)]
    search = ProductSearch(_CatalogStore(neighbours + teal + near), _ReadingEmbedder(), reader)
    hits = search.search("like this but in teal", object(), k=6)
    assert [h.product.id for h in hits[:5]].count("30") == 1
    assert {h.product.base_colour for h in hits[:5]} == {"Teal"}  # was 1 top, 1-2 tunics, then turquoise tops
