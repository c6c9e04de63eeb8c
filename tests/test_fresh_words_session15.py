"""Found on two fresh batches of hand-written dev requests (session 15: 22 single messages, 10
photos and 10 conversations each over `val` products, written by helpers that had not read the
reader; first runs single 0.754 and 0.841, composed 0.810 and 0.947, conversations 0.843 / 0.760
and 0.930 / 0.840 per turn / after the last). Each test fails on the code before its change:

- "black heels to wear with a red dress" read red and black heels and dresses: the kind named
  after "to wear with" (and its colour) is what the wanted kind goes with;
- "grey or black, he spills everything" about a 7-year-old boy turned the request to men's:
  a pronoun names nobody new, and a boy is a he;
- "ochre polo tee" read Copper and Bronze: a dye's colour word never means a metal's finish;
- "grey baniyan" (the Indian word for a vest) read nothing;
- "dress for my 5 yr old daughter, its for a bday party": no girls' dress is filed for parties,
  two unisex ones came close and the page stopped there; it now fills from the nearest looser
  filter (any occasion) as it does when nothing matches.
("he'd mostly wear it to the gym" was taken for a try-on request: see test_generation_request.)

A third batch (16 single messages, 14 photos, 12 conversations; first run single 0.869, composed
0.686, conversations 0.755 / 0.575) showed:

- "my feet are done with heels", "not office wear", "not gym stuff": "done with" is a negation,
  and a negated occasion excludes its usages (it had been read as a preference for them);
- "tees are fine too" after olive tops replaced the tops and dropped the olive: "<kind> is fine
  too / would do as well" adds a kind to the ones in force ("also want briefs" still asks for briefs); "hmm or just flipflops" after black sandals under 25 dropped
  the colour and the budget ("or <kind>" after an interjection);
- "woolly beanie", "denim jacket", "jersey dress": a cloth's kind word before another kind (or any
  kind before "dress") says what it is made of, it names no kind of its own;
- "pj sets", "husbnd" (a typo of a long relative) read nothing.

A fourth (16 single messages, 14 photos, 12 conversations, run once after the fixes above; first
run single 0.864, composed 0.700, conversations 0.827 / 0.604) showed:

- "something decent, nothing below 30" read at most 30: a low bound said as what is not wanted;
- "winter's coming" read nothing ("winters"): a possessive's "'s" is dropped, not glued on;
- "the short cute babydoll kind" read shorts: "short" is an adjective, the garment is "shorts";
- "also need a dupatta in that colour" after yellow kurtis started afresh ("need a"), and
  "matching nail paint in that shade" dropped the wine colour: "that colour / shade" builds on
  the request in force;
- "not the sporty ones, he wears them with loafers" (socks) read loafers as the kind wanted.

Two more (b26, b27: 16 single messages, 14 photos, 12 conversations each), run once after all of
the above (single 0.787 / 0.856, composed 0.593 / 0.671, conversations 0.934 / 0.929 and
0.909 / 0.754), showed:

- "jeans for me (girl)", "for me (f)": who the shopper is, said in brackets;
- "a couple shades deeper" read sunglasses; "more chill" read shrugs (the embedding's guess);
- "any colour except black" dropped the exclusion; "105 is steep, something like it for half that",
  "smth similar for less": price moves; "holdall";
- "what do i wear with this kurta, leggings maybe" read the leggings as the kurta's reference.

Seen in the chat page (headless Chromium) on the hoodie conversation ("he'd mostly wear it to the
gym"): the five sweatshirts shown for
the gym were all sports wear, and no card said so; an inferred usage the product has is now one of
the facts its explanation gives.
"""

from PIL import Image

from assistant.dialogue import Constraints, interpret
from assistant.explain import matches_for
from retrieval.catalog import Product
from retrieval.colours import CATALOG_RGB, METALLIC, colour_space
from retrieval.filters import ProductFilter

from helpers import toy_assistant, write_catalog


def test_what_the_wanted_kind_goes_with_is_not_wanted(reader):
    heels = reader.parse("black heels to wear with a red dress").filter
    assert heels.article_types == ("Heels",) and heels.colours == ("Black",)
    under = reader.parse("wine colour leggings or salwar to go under a white kurta").filter
    assert "Leggings" in under.article_types and not {"Kurtas", "White"} & set(under.article_types + under.colours)
    assert reader.parse("shoes that go with this dress, in black").filter.colours == ("Black",)  # said of the shoes


def test_a_pronoun_about_the_child_in_force_keeps_the_child(reader):
    before = Constraints(ProductFilter(article_types=("Tshirts",), genders=("Boys",)))
    after = interpret("grey or black, he spills everything", before, [], reader).constraints.filter
    assert after.genders == ("Boys",) and set(after.colours) == {"Grey", "Black"}
    wife = interpret("actually for my wife", Constraints(after), [], reader).constraints.filter
    assert wife.genders == ("Women",)


def test_a_dye_colour_word_never_reads_a_metal():
    space = colour_space(tuple(CATALOG_RGB))
    assert space.of_word("ochre") and not set(space.of_word("ochre")) & METALLIC
    assert not set(space.of_word("ash")) & METALLIC
    assert set(space.of_word("golden brown")) & METALLIC  # a metal named as one still is


def test_an_indian_english_word_for_a_vest(reader):
    assert reader.parse("grey baniyan for men").filter.article_types == ("Innerwear Vests",)


def test_a_page_of_only_close_ones_fills_from_the_nearest_looser_filter(tmp_path):
    rows, images = [], {}
    kinds = [("Unisex", "Party")] * 2 + [("Girls", "Casual")] * 6
    for i, (gender, usage) in enumerate(kinds):
        pid = f"p{i}"
        rows.append({"id": pid, "title": f"Kids {gender} Blue Dress {i}", "gender": gender, "article_type": "Dresses",
                     "base_colour": "Blue", "usage": usage, "price": "20", "image": f"images/{pid}.png"})
        images[pid] = Image.new("RGB", (60, 80), (40, 80, 190))
    assistant = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images))
    reply = assistant.new_session().send("a party dress for my daughter")
    shown = [(p.product.gender, p.product.usage) for p in reply.products]
    assert len(shown) == 5 and shown[:2] == [("Unisex", "Party")] * 2 and set(shown[2:]) == {("Girls", "Casual")}
    assert "Nothing is exactly" in reply.text


def test_an_inferred_usage_the_product_has_is_a_fact_of_its_explanation():
    hoodie = Product("1", "Nike Men Black Sweatshirt", gender="Men", article_type="Sweatshirts", base_colour="Black",
                     usage="Sports", price=30.0)
    gym = Constraints(ProductFilter(article_types=("Sweatshirts",)), soft=ProductFilter(usages=("Sports",)))
    assert ("usage", "sports wear", True) in [(m.kind, m.text, m.asked) for m in matches_for(hoodie, gym)]
    office = Constraints(ProductFilter(article_types=("Sweatshirts",)), soft=ProductFilter(usages=("Formal",)))
    assert not [m for m in matches_for(hoodie, office) if m.kind == "usage"]


def test_done_with_and_a_negated_occasion_exclude(reader):
    assert reader.parse("same look but flat, my feet are done with heels").filter.article_types == ("Flats",)
    assert {"Formal", "Smart Casual"} <= set(reader.parse("for going out, not office wear").filter.exclude_usages)
    jacket = reader.parse("similar jacket but for everyday wear, not gym stuff")
    assert "Sports" in jacket.filter.exclude_usages and "Sports" not in jacket.soft.usages


def test_too_adds_a_kind_and_or_after_an_interjection_keeps_the_rest(reader):
    tops = Constraints(ProductFilter(article_types=("Tops",), colours=("Olive",), genders=("Women",)))
    after = interpret("tees are fine too", tops, [], reader).constraints.filter
    assert set(after.article_types) == {"Tops", "Tshirts"} and after.colours == ("Olive",)
    sandals = Constraints(ProductFilter(article_types=("Sandals",), colours=("Black",), genders=("Men",), max_price=25))
    after = interpret("hmm or just flipflops for around the house", sandals, [], reader).constraints.filter
    assert after.article_types == ("Flip Flops",) and after.colours == ("Black",) and after.max_price == 25


def test_a_cloth_word_before_a_kind_is_what_it_is_made_of(reader):
    assert reader.parse("woolly beanie for my bf").filter.article_types == ("Caps",)
    assert reader.parse("denim jacket for men").filter.article_types == ("Jackets",)
    assert reader.parse("jersey dress").filter.article_types == ("Dresses",)
    assert set(reader.parse("tunic top for work").filter.article_types) == {"Tunics", "Tops"}  # two names of one kind


def test_pj_sets_and_a_typo_of_a_long_relative(reader):
    assert reader.parse("pj sets for men").filter.article_types == ("Night suits",)
    assert reader.parse("blu jeens for my husbnd").filter.genders == ("Men",)


def test_a_low_bound_said_as_what_is_not_wanted(reader):
    decent = reader.parse("something decent, nothing below 30").filter
    assert decent.min_price == 30 and decent.max_price is None
    assert reader.parse("nothing over 40").filter.max_price == 40


def test_a_possessive_and_an_adjective_that_is_no_kind(reader):
    assert "Jackets" in reader.parse("something warm for my dad, winter's coming").soft.article_types
    assert reader.parse("men's black shoes").filter.genders == ("Men",)
    nighty = reader.parse("black nighty, the short cute babydoll kind").filter.article_types
    assert "Shorts" not in nighty and "Nightdress" in nighty


def test_that_colour_or_shade_builds_on_the_request_in_force(reader):
    kurtis = Constraints(ProductFilter(article_types=("Kurtis",), colours=("Yellow", "Green"), genders=("Women",)))
    after = interpret("also need a dupatta in that colour", kurtis, [], reader).constraints.filter
    assert after.article_types == ("Dupatta",) and after.colours == ("Yellow", "Green") and after.genders == ("Women",)
    wine = Constraints(ProductFilter(article_types=("Lipstick",), colours=("Burgundy", "Maroon")))
    after = interpret("matching nail paint in that shade?", wine, [], reader).constraints.filter
    assert after.article_types == ("Nail Polish",) and after.colours == ("Burgundy", "Maroon")


def test_what_they_are_worn_with_is_not_wanted(reader):
    assert not reader.parse("not the sporty ones, he wears them with loafers").filter.article_types


def test_who_in_brackets_and_colour_and_style_slang(reader):
    assert "Women" in reader.parse("jeans for me (f) but NOT blue").filter.genders
    deeper = reader.parse("this but a couple shades deeper")
    assert not deeper.filter.article_types and deeper.relative_colour == "deeper"
    chill = reader.parse("smth like this but more chill, for weekends not work")
    assert chill.soft.usages == ("Casual",) and not chill.soft.article_types
    assert reader.parse("roomy holdall for weekends away").filter.article_types == ("Duffel Bag",)


def test_any_colour_except_one_and_price_moves_in_words(reader):
    handbag = interpret("handbag for mom, any colour except black", Constraints(), [], reader).constraints.filter
    assert handbag.exclude_colours == ("Black",)
    half = reader.parse("love this but 105 is steep, something like it for half that?")
    assert half.relative_price == "lower" and half.price_factor == 0.5
    assert reader.parse("smth similar for less?").relative_price == "lower"


def test_a_kind_after_the_reference_kind_is_wanted(reader):
    assert reader.parse("what do i wear with this kurta, leggings maybe").filter.article_types == ("Leggings",)
    assert reader.parse("these jeans in blue").filter.article_types == ("Jeans",)
