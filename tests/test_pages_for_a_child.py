"""Pages for a child, and short pages after a loosening (seen in the chat page, sessions 19-20):

- "party frock for my 6 year old girl": no girls' dress is for parties, and the page showed two
  grown-ups' unisex party dresses before the girls' casual ones;
- then "something in berry": nothing for girls in berry, and the page showed one unisex dress
  (the loosening stopped at the first filter that found anything), or, filled, women's dresses;
  filled with hers, black ones came before the pink.
"""

from __future__ import annotations

import pytest

from assistant.policy import relaxations
from retrieval.colours import colour_distance
from retrieval.filters import ProductFilter
from PIL import Image

from tests.helpers import toy_assistant, write_catalog

RGB = {"Black": (15, 15, 15), "Pink": (240, 150, 190), "Blue": (30, 60, 220), "Maroon": (120, 20, 40),
       "Red": (220, 30, 30)}


def _rows():
    rows, n = [], 0
    for gender, usage, colours in (("Girls", "Casual", ("Black", "Pink", "Blue", "Black", "Pink", "Blue")),
                                   ("Unisex", "Party", ("Black", "Black")),
                                   ("Women", "Casual", ("Maroon", "Maroon", "Red", "Maroon", "Red", "Maroon"))):
        for colour in colours:
            n += 1
            rows.append({"id": f"d{n}", "title": f"Brand {gender} {colour} Dress {n}", "gender": gender,
                         "master_category": "Apparel", "article_type": "Dresses", "base_colour": colour,
                         "usage": usage, "price": f"{20 + n:.2f}", "image": f"images/d{n}.png"})
    return rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dresses")
    rows = _rows()
    catalog = write_catalog(folder, rows, {r["id"]: Image.new("RGB", (60, 80), RGB[r["base_colour"]]) for r in rows})
    return toy_assistant(folder, catalog=catalog)


def test_a_childs_page_shows_hers_before_a_grown_ups():
    for asked in (ProductFilter(article_types=("Dresses",), genders=("Girls",), colours=("Maroon",)),
                  ProductFilter(article_types=("Dresses",), genders=("Girls",), usages=("Party",))):
        steps = [f for f, _ in relaxations(asked, keep=("colours",))]
        keeps_her = [f.genders == ("Girls",) for f in steps]
        assert keeps_her == sorted(keeps_her, reverse=True)  # every step that drops whom it is for comes last
    grown = ProductFilter(article_types=("Dresses",), genders=("Women",), colours=("Maroon",), usages=("Party",))
    steps = [f for f, _ in relaxations(grown, keep=("colours",))]
    assert any(f.genders != ("Women",) for f in steps[:-1])  # a grown-up's: the colour just said still goes last


def test_party_dresses_for_a_girl_show_girls_dresses_first(shop):
    r = shop.new_session().send("party dresses for girls")
    genders = [p.product.gender for p in r.products]
    assert len(genders) == 5
    assert genders == sorted(genders, key=lambda g: g != "Girls")  # hers first, the unisex party ones after


def test_a_colour_nobody_makes_for_her_fills_the_page_with_hers(shop):
    s = shop.new_session()
    s.send("dresses for girls")
    r = s.send("in maroon")
    assert s.constraints.filter.colours == ("Maroon",) and r.text.startswith("Nothing")
    assert len(r.products) == 5 and {p.product.gender for p in r.products} == {"Girls"}
    # hers in other colours, the nearest to maroon first: pink before black and blue
    assert [p.product.base_colour for p in r.products][:2] == ["Pink", "Pink"]


def test_other_colours_come_nearest_first():
    assert colour_distance("Pink", ("Maroon",)) < colour_distance("Black", ("Maroon",)) < colour_distance("Blue", ("Maroon",))
    assert colour_distance("Charcoal", ("Grey",)) < colour_distance("Pink", ("Grey",))  # a grey asked: greys are near
    assert colour_distance("Multi", ("Red",)) == float("inf")
    # a colour of the same family by name is near ("lighter, like a sky blue" of ties: blue before grey)
    assert colour_distance("Blue", ("Turquoise Blue",)) < colour_distance("Grey", ("Turquoise Blue",))
