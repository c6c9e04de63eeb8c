"""Found on the session-17 batches left to look at (`*34..`, `*35..`, whose first runs were the
figures a new shopper meets) and on two new ones (`*36..`, `*37..`: 12 single messages, 12 photos
and 18 conversations each over `val` products, written by helpers that had not read the reader;
first runs single 0.975 / 0.883, composed 0.905 / 0.894, conversations 0.933 / 0.922 per turn and
0.839 / 0.833 after the last). Each test fails on the code before its change.

- "a much lighter shade than this" (a maroon lipstick) read browns, and "lighter than brown"
  mushroom brown alone, "lighter than that grey" khaki: a lighter or darker colour is now first
  a shade of the same colour (a grey's are greys, a colour's its family and the colours of nearly
  its hue and colourfulness);
- "light blue" read navy too; "silvery" was no colour; "plum" was only burgundy and maroon;
- "love it but way too pricey, anything like this under 50?" (a kurta at 145) showed tops: no
  kurta costs that, and the kinds the reader takes for the photo's (kurtis) now come first;
- "these in a lighter colour pls" (navy track pants for women) showed men's blue ones once the
  blues ran out: any lighter colour of hers now comes before another kind or person;
- "cute tops", "in black", "actually show me tees instead" showed men's tees; "need footy shorts,
  for myself (m)", "black ones", "and a jersey to match" lost the colour, the sport and the man;
  "a jumper for my grandad" was for anyone.
"""

from types import SimpleNamespace

from PIL import Image

from assistant.dialogue import Constraints, Interpretation, interpret
from retrieval.filters import ProductFilter
from retrieval.photo_edits import onward_steps


def test_a_lighter_or_darker_colour_is_a_shade_of_the_same_one(reader):
    colours = reader.colours
    assert colours.shifted(("Maroon",), "lighter") == ("Red", "Rose")
    assert set(colours.shifted(("Brown",), "lighter")) == {"Mushroom Brown", "Tan"}
    lighter_grey = colours.shifted(("Grey",), "lighter")
    assert "Grey Melange" in lighter_grey and "Khaki" not in lighter_grey
    assert "Khaki" not in colours.shifted(("White",), "darker")
    assert colours.shifted(("Red",), "darker") == ("Maroon", "Burgundy")
    assert colours.shifted(("Lavender",), "darker")[0] == "Purple"


def test_colour_words_light_blue_silvery_plum(reader):
    assert reader.parse("light blue shirt").filter.colours == ("Blue",)
    assert "Silver" in reader.parse("a silvery grey tie").filter.colours
    assert set(reader.parse("plum lipstick").filter.colours) == {"Purple", "Burgundy"}


def test_a_move_that_runs_out_of_shades_goes_on_to_any_colour_that_way(reader):
    steps = onward_steps(("Blue", "Turquoise Blue"), "lighter", ("Navy Blue", "Blue", "Turquoise Blue"), reader,
                         origin=("Navy Blue",))
    rest = steps[-1]
    assert "Grey" in rest and "Tan" in rest and not {"Black", "Charcoal", "Navy Blue"} & set(rest)
    assert onward_steps(("Blue",), "lighter", ("Navy Blue", "Blue"), reader)[-1] != rest  # no origin: no such step


def test_more_people_and_occasions(reader):
    assert reader.parse("jumper for my grandad").filter.genders == ("Men",)
    assert reader.parse("a shawl for my granny").filter.genders == ("Women",)
    footy = reader.parse("need footy shorts, for myself (m)")
    assert footy.filter.genders == ("Men",) and footy.soft.usages == ("Sports",)
    assert reader.parse("kurta for myself (f)").filter.genders == ("Women",)


def test_an_item_to_match_keeps_the_colour_and_the_person(reader):
    shorts = Constraints(ProductFilter(article_types=("Shorts",), colours=("Black",), genders=("Men",)))
    jersey = interpret("and a jersey to match", shorts, [], reader).constraints
    assert jersey.filter.colours == ("Black",) and jersey.filter.genders == ("Men",)
    assert "Shorts" not in jersey.filter.article_types and "match" not in jersey.words


def test_another_kind_is_first_for_whom_the_kind_before_was_made():
    from assistant.stocked import whom_the_kind_was_for

    def facet_counts(filt, attrs):
        if filt.article_types == ("Tops",):
            return {"gender": {"Women": 285, "Girls": 66, "Unisex": 2, "Men": 1}}
        if filt.article_types == ("Shirts",) and not filt.genders:
            return {"gender": {"Men": 578, "Women": 62}}
        return {"gender": {"Women": 40}}
    shop = SimpleNamespace(facet_counts=facet_counts)
    tees = Interpretation("search", Constraints(ProductFilter(article_types=("Tshirts",), colours=("Black",))))
    after_tops = whom_the_kind_was_for(shop, tees, ProductFilter(article_types=("Tops",)))
    assert after_tops.constraints.soft.genders == ("Women",) and not after_tops.constraints.filter.genders
    assert whom_the_kind_was_for(shop, tees, ProductFilter(article_types=("Shirts",))) is tees  # 90% men's: anyone's
    named = Interpretation("search", Constraints(ProductFilter(article_types=("Tshirts",), genders=("Men",))))
    assert whom_the_kind_was_for(shop, named, ProductFilter(article_types=("Tops",))) is named


def _shop(tmp_path, rows, paint):
    from helpers import toy_assistant, write_catalog

    images = {}
    for row in rows:
        im = Image.new("RGB", (60, 80), (255, 255, 255))
        im.paste(paint[row["base_colour"]], (15, 15, 45, 70))
        images[row["id"]] = im
        row.setdefault("usage", "Casual")
        row["image"] = f"images/{row['id']}.png"
    return toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images)), images


def test_no_such_kind_at_that_price_shows_the_kinds_read_as_the_same_thing(tmp_path):
    rows = [{"id": f"a{i}", "title": f"Brand Women Navy Kurta {i}", "gender": "Women", "article_type": "Kurtas",
             "base_colour": "Navy Blue", "price": str(120 + i)} for i in range(4)]
    rows += [{"id": f"b{i}", "title": f"Brand Women Navy Kurti {i}", "gender": "Women", "article_type": "Kurtis",
              "base_colour": "Navy Blue", "price": str(30 + i)} for i in range(4)]
    rows += [{"id": f"c{i}", "title": f"Brand Women Navy Top {i}", "gender": "Women", "article_type": "Tops",
              "base_colour": "Navy Blue", "price": str(10 + i)} for i in range(8)]
    shop, images = _shop(tmp_path, rows, {"Navy Blue": (20, 30, 90)})
    reply = shop.new_session().send("love it but way too pricey, anything like this under 50?", image=images["a0"])
    kinds = [p.product.article_type for p in reply.products]
    assert kinds[:4] == ["Kurtis"] * 4, kinds


def test_a_colour_named_beside_a_move_leads_it(reader):
    parsed = reader.parse("a lighter brown, more tan/camel")
    assert parsed.soft.colours[0] == "Tan" and "Brown" in parsed.filter.colours  # tan first, browns still shown
    assert reader.parse("a lighter brown").soft.colours == ("Mushroom Brown", "Tan")


# --- the last pair (`*38..`, `*39..`), run once after all of the above: single 0.685 / 0.875, composed
# 0.908 / 0.950 (0.900 / 0.875 read from the picture), conversations 0.920 / 0.969 per turn and 0.886 / 0.889
# after the last ---------------------------------------------------------------------------------------------
def test_texting_words_and_lists_under_one_negation(reader):
    both = reader.parse("kurti for everyday, anything except white n cream").filter
    assert not both.colours and {"White", "Cream"} <= set(both.exclude_colours)
    between = reader.parse("heels for date night, btwn 50 and 60 dollars").filter
    assert (between.min_price, between.max_price) == (50, 60)
    assert not reader.parse("no heels, flats please").filter.exclude_colours  # a new clause still ends it


def test_nothing_too_loud_is_a_toned_down_colour_not_a_negated_one(reader):
    parsed = reader.parse("nothing too loud, black")
    assert parsed.filter.colours == ("Black",) and not parsed.filter.exclude_colours
    assert reader.parse("something loud for a party").soft.colours  # bright ones


def test_more_shoppers_words(reader):
    assert reader.parse("printd sari with lotsa colours").filter.colours == ("Multi",)
    assert "Kurta Sets" in reader.parse("ladies salwar kameez").filter.article_types
    shaadi = reader.parse("golden chappals for my cousins shaadi, flat ones pls no heels")
    assert "Sunglasses" not in shaadi.filter.article_types and "Ethnic" in shaadi.soft.usages
    assert "Gold" in reader.parse("goldish clutch").filter.colours


def test_an_item_to_go_with_hers_is_no_request_for_it(reader):
    parsed = reader.parse("goldish or beige, to go w her lehenga")
    assert "Lehenga Choli" not in parsed.filter.article_types and "Beige" in parsed.filter.colours
    assert reader.parse("get her heels").filter.article_types == ("Heels",)  # "her" as the person, not a reference


def test_show_this_kind_too_adds_it(reader):
    jeans = Constraints(ProductFilter(article_types=("Jeans",), genders=("Women",), colours=("Blue",), max_price=47.98))
    both = interpret("show jeggings too", jeans, [], reader).constraints.filter
    assert set(both.article_types) == {"Jeans", "Jeggings"} and both.colours == ("Blue",) and both.max_price == 47.98



def test_way_and_much_say_how_much_not_what(reader):
    # seen in the chat page: the sidebar showed "words: way" and "words: much" as the request's description
    assert reader.parse("love it but way too pricey, anything like this under 50?").free_words == ()
    assert reader.parse("a much lighter shade than this").free_words == ()


def test_a_colour_and_a_budget_outlast_an_occasion():
    # "cute dress for a party", "purple or plum", "less expensive ones?": three black party dresses had
    # been shown, the colour dropped before the occasion, where purple dresses for other occasions cost that
    from assistant.policy import relaxations

    asked = ProductFilter(article_types=("Dresses",), colours=("Purple",), usages=("Party",), max_price=33.98)
    first, how = relaxations(asked, keep=("max_price",))[0]
    assert first.colours == ("Purple",) and not first.usages and first.max_price == 33.98 and how == "for any occasion"
