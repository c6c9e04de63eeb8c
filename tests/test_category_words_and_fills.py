"""Found on a fresh batch of hand-written dev requests (session 13: 16 single messages, 16
photos, 12 conversations over `val` products, written by someone who had not read the reader;
first run single 0.833, conversations 0.778 per turn and 0.575 after the last turn). Each test
fails on the code before its change:

- "on second thought skip black" after "grey or black" showed black only, and "anythin but
  black" showed black bags: neither "skip" nor a word typed without its g was a negation;
- "something not so pricey", "under a tenner": no budget read;
- "panties for me" and "navy y fronts for my husband" showed men's briefs, or no briefs at all;
- "mens trunk underwaer in blue" showed briefs and boxers: a kind beside its category word
  read as the whole category;
- "similar vest but less pricey" on a photo of an innerwear vest showed waistcoats ("vest" is
  both; the photo says which);
- "lighter one" of a brown tee, where nothing lies one step lighter, fell back to black tees;
- "around 70ish" showed 58.99 and 81.99 before 69.99.
"""


from assistant.dialogue import Constraints, interpret
from retrieval.catalog import Product
from retrieval.filters import ProductFilter
from retrieval.hits import Hit
from retrieval.photo_edits import Edits, PhotoLook, edit_from_photo
from retrieval.preferences import prefer
from retrieval.prices import read_prices, words_to_numbers
from retrieval.reader import normalise

from PIL import Image

from helpers import toy_assistant, write_catalog


def test_skip_and_anythin_but_are_negations(reader):
    before = Constraints(ProductFilter(article_types=("Briefs",), colours=("Grey", "Black"), genders=("Women",)))
    after = interpret("on second thought skip black", before, [], reader).constraints.filter
    assert after.colours == ("Grey",) and after.genders == ("Women",)
    bags = reader.parse("anythin but black, all my stuff is black already").filter
    assert bags.colours == () and bags.exclude_colours == ("Black",)
    assert interpret("skip", before, [], reader).command == "skip"  # a question's answer is still that


def test_price_words_shoppers_use(reader):
    assert read_prices(normalise("something not so pricey")).relative == "lower"
    assert read_prices(normalise("not that expensive pls")).relative == "lower"
    assert read_prices(words_to_numbers(normalise("pink nail paint under a tenner"))).max_price == 10
    assert reader.parse("socks for a fiver or less").filter.max_price == 5


def test_a_word_for_a_kind_can_say_whom_it_is_for(reader):
    assert reader.parse("looking for panties for me").filter.genders == ("Women",)
    y_fronts = reader.parse("navy y fronts for my husband").filter
    assert y_fronts.article_types == ("Briefs",) and y_fronts.genders == ("Men",)
    assert reader.parse("knickers for my daughter").filter.genders == ("Girls",)  # a person said wins


def test_a_kind_beside_its_category_word_is_that_kind(reader):
    assert reader.parse("mens trunk underwaer in blue").filter.article_types == ("Trunk",)
    assert set(reader.parse("brown wedge sandals for women").filter.article_types) == {"Heels", "Sandals"}
    assert set(reader.parse("tshirts and jeans").filter.article_types) == {"Tshirts", "Jeans"}
    assert set(reader.parse("kurta or kurti").filter.article_types) == {"Kurtas", "Kurtis"}


def test_the_photo_says_which_of_a_words_kinds(reader, vocab):
    parsed = reader.parse("similar vest but less pricey")
    assert set(parsed.filter.article_types) == {"Innerwear Vests", "Waistcoat"}
    look = PhotoLook(colour="Maroon", article_type="Innerwear Vests", gender="Men", price=52.99,
                     colours=("Maroon",), gender_share=0.97)
    filt, soft = edit_from_photo(Edits.of(parsed), parsed.filter, look, vocab, reader.shift_colours)
    # the photo's kind first; the words' other kind after it (session 16: when none of the photo's kind
    # met the budget, the budget had been loosened instead)
    assert soft.article_types == ("Innerwear Vests",) and filt.max_price == 52.98
    assert set(filt.article_types) == {"Innerwear Vests", "Waistcoat"}
    # a complement wants another kind than the photo's, whatever the words' kinds
    shoes = reader.parse("shoes to go with this")
    filt, _ = edit_from_photo(Edits.of(shoes), shoes.filter, PhotoLook(article_type="Casual Shoes"), vocab, None)
    assert len(filt.article_types) > 1


def test_around_a_price_shows_the_nearest_first():
    prices = [77.99, 58.99, 81.99, 64.99, 69.99, 72.49]
    hits = [Hit(Product(str(i), "Socks", price=p), 1.0 - i / 10, ("text",)) for i, p in enumerate(prices)]
    got = [h.product.price for h in prefer(hits, None, "near", 3, around=70.0)]
    assert got == [69.99, 72.49, 64.99]
    parsed = read_prices(normalise("pack of socks for men around 70ish"))
    assert parsed.sort == "near" and parsed.min_price < 70 < parsed.max_price


def test_a_lighter_move_with_nothing_one_step_lighter_goes_further_not_back(tmp_path):
    """Brown tees, one mushroom-brown tee, the colours one step lighter only among watches:
    "lighter" than the mushroom brown is khaki or nude (no tees), then beige, cream and the
    whites, nearest first; the page fills with the beige tee, then white tees, never black ones."""
    colours = {"Brown": (120, 72, 40), "Mushroom Brown": (150, 120, 100), "Khaki": (195, 176, 145),
               "Nude": (227, 188, 160), "Beige": (225, 210, 180), "Cream": (245, 240, 215), "Off White": (242, 240, 230),
               "White": (250, 250, 250), "Black": (15, 15, 15)}
    rows, images = [], {}
    for i, (kind, colour) in enumerate([("Tshirts", "Brown")] * 3 + [("Tshirts", "Mushroom Brown")]
                                       + [("Watches", c) for c in ("Khaki", "Nude", "Beige", "Cream", "Off White")]
                                       + [("Tshirts", "White")] * 4 + [("Tshirts", "Beige")]
                                       + [("Tshirts", "Black")] * 4):
        pid = f"p{i}"
        printed = "Printed " if colour == "White" else ""  # the words pull the whites: a step of colours
        # searched as one would show them first
        rows.append({"id": pid, "title": f"Brand Men {printed}{colour} {kind} {i}", "gender": "Men",
                     "article_type": kind, "base_colour": colour, "usage": "Casual", "price": "20",
                     "image": f"images/{pid}.png"})
        images[pid] = Image.new("RGB", (60, 80), (255, 255, 255))
        images[pid].paste(colours[colour], (15, 15, 45, 70))
    search = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images)).shop.parts.search
    first = search.parser.shift_colours(("Mushroom Brown",), "lighter")
    assert "White" not in first  # the case: one step lighter holds no tees
    base = ProductFilter(colours=("Mushroom Brown",), article_types=("Tshirts",), genders=("Men",),
                         exclude_colours=("Brown",))
    hits = search.run("printed white tshirts for men", filters=base, k=5, edits=Edits(relative_colour="lighter")).hits
    shown = [h.product.base_colour for h in hits]
    assert shown[0] == "Mushroom Brown" and shown[1] == "Beige" and shown[2:] == ["White"] * 3
