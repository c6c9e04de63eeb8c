"""Found on the understanding evaluation's dev requests (session 11): a colour moved off the
photo or off the products shown ("same tee but darker", "something brighter") filled a short
page with the very colour it moved away from (grey tees again), and a photo sent with no words
of its own ("a darker version") filled its page with other kinds in that colour (gold kurtas
and nail polish under a mustard tee): the near-colour fill searched under the unloosened filter.
A colour nothing has, asked with a budget, was loosened to "other colours" at any price, and
"bright" was five colours, without pink, blue or green. Each test fails on the code before."""

from dataclasses import replace

import pytest
from PIL import Image

from assistant.dialogue import Constraints, interpret
from assistant.policy import relaxations
from retrieval.catalog import Product
from retrieval.colours import colour_space
from retrieval.filters import ProductFilter
from retrieval.photo_edits import Edits, PhotoLook, kinds_named_for, needs_photo, onward_colours, photo_look
from retrieval.search import ProductSearch
from retrieval.store import StoredMatch

from helpers import toy_assistant, write_catalog


def test_a_short_page_of_a_colour_moved_off_the_photo_goes_further_that_way(reader):
    look = PhotoLook(colour="Grey", article_type="Tshirts", gender="Men", colours=("Grey",))
    moved = reader.shift_colours(look.colours, "darker")
    assert moved == ("Charcoal",)
    onward = onward_colours(moved, look, "darker", reader.shift_colours)
    assert "Black" in onward and "Grey" not in onward and "Charcoal" not in onward


def test_a_colour_moved_off_the_products_shown_does_not_come_back(reader):
    shown = [Product(f"g{i}", "Grey Tshirt", gender="Men", article_type="Tshirts", base_colour="Grey") for i in range(5)]
    before = Constraints(ProductFilter(article_types=("Tshirts",), genders=("Men",)))
    after = interpret("a darker one", before, shown, reader).constraints.filter
    # the nearest step first; off a colour never asked for, any dark colour does too (session 12)
    assert after.colours[0] == "Charcoal" and "Black" in after.colours and after.exclude_colours == ("Grey",)
    # moving back the other way brings it back: what is asked is never also excluded
    again = interpret("lighter", Constraints(after), shown, reader).constraints.filter
    assert not set(again.colours) & set(again.exclude_colours)


def test_bright_is_every_colourful_colour_not_the_earthy_ones(vocab):
    bright = colour_space(vocab.colours).band("brighter")
    assert {"Pink", "Blue", "Green", "Turquoise Blue", "Red", "Yellow"} <= set(bright)
    assert not {"Brown", "Olive", "Maroon", "Rust", "Navy Blue", "Black", "Grey"} & set(bright)


def test_a_budget_outlasts_a_colour_nothing_has():
    steps = list(relaxations(ProductFilter(colours=("Copper",), article_types=("Sunglasses",), max_price=30)))
    first_colourless = next((f, how) for f, how in steps if not f.colours)
    assert first_colourless[0].max_price == 30 and first_colourless[1] == "in other colours"
    # a step that drops the budget says so
    assert all("any price" in how for f, how in steps if f.max_price is None and "colour" in how)


def _grey_shirt() -> Image.Image:
    im = Image.new("RGB", (60, 80), (255, 255, 255))
    im.paste((128, 128, 128), (15, 15, 45, 70))
    return im


def test_a_photo_with_only_a_colour_move_keeps_its_kind_before_other_kinds(tmp_path):
    colours = {"Grey": (128, 128, 128), "Charcoal": (60, 62, 66), "Black": (15, 15, 15)}
    rows, images = [], {}
    for i, (kind, colour, box) in enumerate(
            [("Tshirts", "Grey", (15, 15, 45, 70))] * 5 + [("Tshirts", "Charcoal", (15, 15, 45, 70))]
            + [("Tshirts", "Black", (15, 15, 45, 70))] * 3 + [("Watches", "Charcoal", (22, 30, 38, 50))] * 2):
        pid = f"p{i}"
        rows.append({"id": pid, "title": f"Brand Men {colour} {kind} {i}", "gender": "Men", "article_type": kind,
                     "base_colour": colour, "usage": "Casual", "price": "20", "image": f"images/{pid}.png"})
        im = Image.new("RGB", (60, 80), (255, 255, 255))
        im.paste(colours[colour], box)
        images[pid] = im
    search = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images)).shop.parts.search
    # the picture is read as a men's tshirt alone (no slots for a second reading here)
    search = ProductSearch(search.store, search.embedder, search.parser, replace(search.cfg, min_hypothesis_share=0.5))
    parsed = search.parser.parse("a darker version")
    hits = search.run(None, _grey_shirt(), k=5, soft=parsed.soft, edits=Edits.of(parsed)).hits
    shown = [(h.product.article_type, h.product.base_colour) for h in hits]
    assert shown[0] == ("Tshirts", "Charcoal")
    assert shown[1:4] == [("Tshirts", "Black")] * 3  # further that way, the photo's kind, before any watch
    assert ("Tshirts", "Grey") not in shown


# --- found on a second fresh batch (session 11, 24 composed requests and 8 conversations over
# `val` products, run once before these changes: composed 0.762, last turn 0.650) ---------------
def test_a_darker_red_prefers_the_darker_reds_among_the_reds(reader):
    parsed = reader.parse("same tee but a darker red")
    assert set(parsed.filter.colours) == {"Red", "Maroon", "Burgundy"}
    assert parsed.soft.colours == ("Maroon", "Burgundy")  # was no preference: the page was all red


def test_white_made_more_colourful_is_no_longer_white(reader):
    moved = reader.shift_colours(("White",), "brighter", asked=True)
    assert "White" not in moved and {"Red", "Blue", "Pink"} <= set(moved)


def test_brighter_lands_on_a_colourful_colour(reader):
    moved = reader.shift_colours(("Peach",), "brighter")
    assert "Orange" in moved and not {"Bronze", "Copper"} & set(moved)  # was Bronze, Copper
    assert "make" not in reader.parse("actually make it brighter").free_words


def test_instead_for_another_person_keeps_the_rest(reader):
    before = Constraints(ProductFilter(article_types=("Sports Shoes",), genders=("Men",), max_price=28.0,
                                       exclude_colours=("White",)))
    after = interpret("what about something for my sister instead", before, [], reader).constraints.filter
    assert after.genders == ("Women",) and after.article_types == ("Sports Shoes",)
    assert after.max_price == 28.0 and after.exclude_colours == ("White",)


def test_the_catalog_kind_named_after_a_usage_is_that_usage_of_the_photo(vocab):
    assert kinds_named_for(("Formal",), "Casual Shoes", vocab.article_types) == ("Formal Shoes",)
    assert kinds_named_for(("Sports",), "Casual Shoes", vocab.article_types) == ("Sports Shoes",)
    assert kinds_named_for(("Formal",), "Tshirts", vocab.article_types) == ()
    assert needs_photo(ProductFilter(usages=("Formal",)), Edits())  # "a formal version of these"


def test_a_catalog_products_own_picture_is_priced_as_that_product():
    def match(pid, price, sim):
        return StoredMatch(Product(pid, "t", article_type="Sweatshirts", gender="Women", base_colour="Purple",
                                   price=price), sim, True)
    look = photo_look([match("a", 154.99, 0.999), match("b", 40.0, 0.8), match("c", 45.0, 0.79)], None)
    assert look.price == 154.99  # was the neighbours' median (45): "a cheaper one" went far below it
    assert photo_look([match("b", 40.0, 0.8), match("c", 45.0, 0.79), match("d", 50.0, 0.7)], None).price == 45.0


# --- found on a third fresh batch (session 11, 12 conversations over `val` products, run once
# before these changes: 0.850 per turn, 0.683 after the last turn) ----------------------------------
def test_an_age_is_not_a_description(reader):
    parsed = reader.parse("t shirts for my 7 year old girl")
    assert parsed.filter.genders == ("Girls",) and not parsed.free_words  # was "year old" tshirts
    # with no boy or girl said, the age pulls towards kids' things in the catalog's own word
    assert reader.parse("sunglasses for my 8 year old").free_words == ("kids",)


def test_darker_after_not_black_is_still_not_black(reader):
    shown = [Product(f"f{i}", "Flats", gender="Women", article_type="Flats", base_colour=c)
             for i, c in enumerate(["White", "White", "Pink", "Tan", "Brown"])]
    before = Constraints(ProductFilter(article_types=("Flats",), genders=("Women",), exclude_colours=("Black",)))
    after = interpret("something darker", before, shown, reader).constraints.filter
    assert after.colours and "Black" not in after.colours and "Black" in after.exclude_colours


@pytest.mark.parametrize("text, stays, leads", [("a paler pink", ("Pink",), ()),
                                                 ("a paler blue", ("Blue", "Turquoise Blue"), ("Turquoise Blue",))])
def test_a_named_colour_moved_is_still_that_colour(reader, text, stays, leads):
    parsed = reader.parse(text)
    assert parsed.filter.colours == stays and parsed.soft.colours == leads  # a paler pink was white first


def test_cheaper_goes_below_what_such_products_typically_cost(reader):
    shown = [Product(f"s{i}", "Dress", gender="Girls", article_type="Dresses", price=p)
             for i, p in enumerate([37.99, 29.99, 42.99, 35.99, 30.99])]
    before = Constraints(ProductFilter(article_types=("Dresses",), genders=("Girls",)))
    asked = []

    def typical(filt):
        asked.append(filt)
        return 21.0

    after = interpret("cheaper", before, shown, reader, typical_price=typical).constraints.filter
    assert after.max_price == 20.99 and asked == [before.filter]  # the page's median was 35.99
    pricier = interpret("more expensive", before, shown, reader, typical_price=typical).constraints.filter
    assert pricier.min_price == 36.0  # the higher of the two
    assert interpret("cheaper", before, shown, reader).constraints.filter.max_price == 35.98  # no catalog: the page


# --- seen in the chat page (headless Chromium): "darker version" with a photo answered "Here are 5
# products that look like your photo", and "something to wear with this" said the same -------------
@pytest.mark.parametrize("edits, says", [
    (Edits(relative_colour="darker"), "that look like your photo, in a darker colour"),
    (Edits(relative_price="lower", usages=("Formal",)), "that look like your photo, for formal wear and for less"),
    (Edits(complement=True), "to go with your photo"),
])
def test_the_lead_says_what_was_asked_of_the_photo(edits, says):
    from assistant.lead import lead_sentence
    lead = lead_sentence(Constraints(ProductFilter(), edits=edits), 5, "your photo", None)
    assert says in lead and (edits.complement is False or "look like" not in lead)


def test_a_model_sentence_that_named_the_product_gets_a_short_follow_up_not_the_facts_again(vocab):
    from assistant.claims import ClaimChecker
    from assistant.explain import Explainer, Match
    from retrieval.contrasts import Contrast

    tee = Product("t1", "Adidas Men Force Polo White T-shirt", gender="Men", article_type="Tshirts",
                  base_colour="White", price=18.99)
    matches = (Match("image", "looks like your photo", True), Match("colour", "white", False),
               Match("article_type", "tshirts", False))
    contrast = Contrast("only", "the only one with 'Force' in its name")
    e = Explainer(ClaimChecker(vocab))._checked("This is a white T-shirt for men at $18.99.", tee, matches, contrasts=(contrast,))
    # was "... A white T-shirt for men, at $18.99, looks like your photo: the only one with 'Force' in its name."
    assert e.text == "This is a white T-shirt for men at $18.99. It looks like your photo and is the only one " \
                     "with 'Force' in its name."


def test_the_scripted_conversations_restate_the_cheaper_rule():
    from assistant.evaluation import ScriptedTurn, expected_after

    prices = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 30.0, 40.0, 50.0, 60.0, 90.0, 95.0]
    dresses = [Product(f"d{i}", "Dress", gender="Girls", article_type="Dresses", price=p) for i, p in enumerate(prices)]
    current = ProductFilter(article_types=("Dresses",))
    cheaper = expected_after(ScriptedTurn("cheaper", "cheaper"), current, [40.0, 50.0, 60.0], (), dresses[0], dresses)
    assert cheaper.max_price == 22.49  # the catalog's median (22.5) is lower than the page's (50), and leaves 6
    few = dresses[:2] + dresses[6:8] + dresses[-1:]  # 10, 11, 30, 40, 95: under 29.99 two would be left
    assert expected_after(ScriptedTurn("cheaper", "cheaper"), current, [40.0, 50.0, 60.0], (), few[0],
                          few).max_price == 49.99  # so the page's median (session 16)
    pricier = expected_after(ScriptedTurn("more expensive", "pricier"), current, [40.0, 50.0, 60.0], (), dresses[0],
                             dresses)
    assert pricier.min_price == 50.01


def test_a_message_marks_what_it_changed(reader):
    before = Constraints(ProductFilter(article_types=("Dresses",), genders=("Women",), usages=("Party",)))
    assert interpret("red", before, [], reader).constraints.latest == ("colours",)
    assert interpret("not so high, maybe flats instead", Constraints(ProductFilter(article_types=("Heels",))), [],
                     reader).constraints.filter.article_types == ("Flats",)  # "maybe" ends the negation


# --- found on a last fresh batch of single messages (s11.., 16 over `val` products, first run 0.875) ---
@pytest.mark.parametrize("text, kinds, genders, colours, not_colours, not_kinds", [
    ("watch that isnt black, for men", ("Watches",), ("Men",), (), ("Black",), ()),  # "men" was negated too
    ("not black sneakers for men", ("Casual Shoes", "Sports Shoes"), ("Men",), (), ("Black",), ()),
    ("no heels, black flats", ("Flats",), (), ("Black",), (), ("Heels",)),
    # a list of one facet stays negated (and "brown" is also the catalog's browns by name)
    ("anything but brown or black shoes", None, (), (), ("Brown", "Black", "Coffee Brown", "Mushroom Brown"), ()),
])
def test_a_negation_stops_at_a_phrase_of_another_facet(reader, text, kinds, genders, colours, not_colours, not_kinds):
    f = reader.parse(text).filter
    assert (kinds is None or f.article_types == kinds) and f.genders == genders and f.colours == colours
    assert f.exclude_colours == not_colours and f.exclude_article_types == not_kinds


def test_lace_ups_are_shoes(reader):
    assert reader.parse("dark blue lace ups for guys").filter.article_types == ("Casual Shoes", "Formal Shoes")
