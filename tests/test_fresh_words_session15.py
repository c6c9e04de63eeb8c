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
"""

from PIL import Image

from assistant.dialogue import Constraints, interpret
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
