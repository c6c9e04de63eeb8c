"""Found on a fresh batch of hand-written dev requests (session 14: 24 single messages, 12
photos, 10 conversations over `val` products, written by a helper that had not read the reader;
first run single 0.891, composed 0.830, conversations 0.955 per turn and 0.860 after the last).
Each test fails on the code before its change:

- "golden ones" read Gold, Yellow and Mustard: the colour survey's reading of a word was merged
  into the hand-written table's ("golden" is Gold), and the page showed yellow heels;
- "a hoodie maybe" read sweatshirts only, so "black pls", "nothing over 40" found none and the
  budget was loosened to 60 (zip-up hoodies are filed as jackets);
- "navy joggers for men": a short page of navy filled with every near colour at once, ranked by
  the words, so black ones came before blue.

A second batch by another such writer (first run single 0.874, composed 0.655, conversations
0.790 / 0.720; nothing above changed it) then showed:

- "sliver ear rings" read rings, "sun glasses" is one word typed as two;
- "same tee but a darker shade of red" read red: the move said in a roundabout way;
- "high tops for me" read women's tops; a high top is a sneaker;
- "or tops, doesnt have to be a tee" after purple tees dropped the purple: "or <kind>" offers
  another kind for the same request, as "instead" does.
"""

from PIL import Image

from assistant.dialogue import Constraints, interpret
from retrieval.filters import ProductFilter

from helpers import toy_assistant, write_catalog


def test_a_colour_word_of_the_table_reads_as_the_table_says(reader):
    assert reader.parse("golden flats for women").filter.colours == ("Gold",)
    assert reader.parse("scarlet dress").filter.colours == ("Red",)


def test_a_hoodie_is_a_sweatshirt_or_a_zip_up_jacket(reader):
    assert set(reader.parse("a black hoodie for my dad").filter.article_types) == {"Sweatshirts", "Jackets"}


def test_a_short_page_of_one_colour_fills_with_its_nearest_colour_first(tmp_path):
    rgb = {"Navy Blue": (25, 35, 80), "Blue": (40, 80, 190), "Black": (15, 15, 15)}
    rows, images = [], {}
    kinds = [("Navy Blue", "Brand Men Navy Blue Lounge Bottoms")] * 2 + [("Blue", "Brand Men Solid Blue Bottoms")] * 4 \
        + [("Black", "Men Track Pants")] * 4  # the words pull the black ones
    for i, (colour, title) in enumerate(kinds):
        pid = f"p{i}"
        rows.append({"id": pid, "title": f"{title} {i}", "gender": "Men", "article_type": "Track Pants",
                     "base_colour": colour, "usage": "Casual", "price": "20", "image": f"images/{pid}.png"})
        images[pid] = Image.new("RGB", (60, 80), (255, 255, 255))
        images[pid].paste(rgb[colour], (15, 15, 45, 70))
    search = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images)).shop.parts.search
    base = ProductFilter(colours=("Navy Blue",), article_types=("Track Pants",), genders=("Men",))
    shown = [h.product.base_colour for h in search.run("track pants for men", filters=base, k=6).hits]
    assert shown == ["Navy Blue"] * 2 + ["Blue"] * 4


def test_a_kind_typed_as_two_words_and_a_roundabout_colour_move(reader):
    assert reader.parse("sliver ear rings for women").filter.article_types == ("Earrings",)
    assert reader.parse("sun glasses for men").filter.article_types == ("Sunglasses",)
    assert reader.parse("a darker shade of red").filter.colours != ("Red",)
    assert set(reader.parse("high tops for me, im a guy").filter.article_types) == {"Casual Shoes", "Sports Shoes"}


def test_or_another_kind_keeps_the_rest_of_the_request(reader):
    before = Constraints(ProductFilter(article_types=("Tshirts",), colours=("Purple",), genders=("Girls",)))
    after = interpret("or tops, doesnt have to be a tee", before, [], reader).constraints.filter
    assert "Tops" in after.article_types and after.colours == ("Purple",) and after.genders == ("Girls",)
