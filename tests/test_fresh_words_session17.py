"""Found on two fresh batches of hand-written dev requests (session 17, `*32..` and `*33..`: 16
single messages, 14 photos and 12 conversations each over `val` products, written by helpers
that had not read the reader; first runs single 0.819 / 0.978, composed 0.959 / 0.826,
conversations 0.941 / 0.894 per turn and 0.946 / 0.767 after the last), and, before them, on the
session's own list of what was left. Each test fails on the code before its change.

Before the batches (left from session 16):
- a comma ended nothing: "heels kill my feet, flats pls" wanted heels, and "no heels, flats
  please" excluded flats as well; a comma (";", "!", "?") now ends a clause, and a negation carries
  over it only into a list ("no heels, wedges or platforms");
- a complaint said after the thing ("heels kill my feet", "pink is not my thing", "sneakers are
  out") is a negation;
- "jeans that are not too tight" excluded tights;
- the sidebar said "No filters yet" after a photo request (in test_pipeline).

On the batches:
- "cant spend more than 25 bucks" read at least 25;
- "a teenage girl" was a child only (Girls), as was "my 15 year old daughter";
- "a kurti" was anyone's (one men's kurti in the catalog), and so were "leggings to wear under
  my kurtis";
- "actually make it for her twin brother", after clothes for a six-year-old girl, showed men's tees;
- "no black or grey" showed a grey melange sweatshirt;
- "my morning runs" said nothing of sport;
- "gold chappals" found flip flops only: the catalog files women's flat sandals as Flats;
- "a shirt to wear with this tie" (a formal tie) showed casual shirts first;
- "my gf wants this shirt, is there a ladies version" (a purple shirt) filled its page with blue
  shirts before the lavender ones: a colour only preferred from the photo is now widened to its
  nearest colours, in the photo's kind, before other colours;
- "kurti for work", "blue ones", "darker blue pls" kept showing blue kurtis: no kurti is navy,
  and every writer of these requests (and of the earlier dev ones) takes a kurti for a kurta,
  as "kurta" already read both; and where nothing meets both preferences, the colour asked for
  ("darker blue") now leads the occasion guessed at ("for work").
"""

from assistant.dialogue import Constraints, interpret
from retrieval.filters import ProductFilter
from retrieval.photo_edits import Edits, PhotoLook, edit_from_photo


def test_a_comma_ends_a_clause_and_a_negation_carries_only_into_a_list(reader):
    flats = reader.parse("no heels, flats please").filter
    assert flats.article_types == ("Flats",) and flats.exclude_article_types == ("Heels",)
    listed = reader.parse("no heels, wedges or platforms").filter
    assert not listed.article_types and "Heels" in listed.exclude_article_types
    colours = reader.parse("anything but black, red or navy").filter
    assert {"Black", "Red", "Navy Blue"} <= set(colours.exclude_colours) and not colours.colours
    assert reader.parse("under 1,000 dollars, red dress!").filter.max_price == 1000


def test_a_complaint_after_the_thing_is_a_negation(reader):
    flats = reader.parse("heels kill my feet, flats pls").filter
    assert flats.article_types == ("Flats",) and flats.exclude_article_types == ("Heels",)
    blue = reader.parse("pink is not my thing, something in blue").filter
    assert blue.colours == ("Blue",) and "Pink" in blue.exclude_colours
    loafers = reader.parse("sneakers are out, loafers maybe").filter
    assert "Formal Shoes" in loafers.article_types and "Casual Shoes" in loafers.exclude_article_types
    # ...but an idiom is no complaint
    assert not reader.parse("mens briefs pls, running out lol").filter.exclude_usages
    assert reader.parse("socks for my dad, his are all worn out").filter.genders == ("Men",)


def test_tight_is_no_kind_of_item(reader):
    jeans = reader.parse("jeans that are not too tight").filter
    assert jeans.article_types == ("Jeans",) and not jeans.exclude_article_types
    assert "Tights" in reader.parse("black tights for school").filter.article_types


def test_cannot_spend_more_than_is_a_ceiling(reader):
    budget = reader.parse("need a handbag, cant spend more than 25 bucks").filter
    assert budget.max_price == 25 and budget.min_price is None
    assert reader.parse("i can spend more than 30").filter.min_price == 30


def test_a_teenager_wears_a_childs_size_or_an_adults(reader):
    assert set(reader.parse("lilac watch for a teenage girl").filter.genders) == {"Girls", "Women"}
    assert set(reader.parse("shoes for my 15 year old daughter").filter.genders) == {"Girls", "Women"}
    assert reader.parse("a watch for my 20 year old son").filter.genders == ("Men",)
    assert reader.parse("tshirt for my 8 yr old son").filter.genders == ("Boys",)


def test_a_kurti_is_hers_asked_for_or_worn_with(reader):
    assert reader.parse("looking for a kurti for everyday wear").filter.genders == ("Women",)
    leggings = reader.parse("leggings to wear under my kurtis").filter
    assert leggings.article_types == ("Leggings",) and leggings.genders == ("Women",)


def test_a_childs_brother_is_a_child(reader):
    girl = Constraints(ProductFilter(article_types=("Tshirts", "Tops"), genders=("Girls",), colours=("Green",)))
    brother = interpret("actually make it for her twin brother", girl, [], reader).constraints.filter
    assert brother.genders == ("Boys",) and brother.colours == ("Green",)
    grown = Constraints(ProductFilter(article_types=("Tshirts",), genders=("Women",)))
    assert interpret("actually for her brother", grown, [], reader).constraints.filter.genders == ("Men",)


def test_not_a_colour_is_not_its_named_shades_either(reader):
    jumper = reader.parse("jumper for my bro, no black or grey he has loads").filter
    assert {"Black", "Grey", "Grey Melange"} <= set(jumper.exclude_colours)
    navy = reader.parse("not blue, navy please").filter
    assert navy.colours == ("Navy Blue",) and "Navy Blue" not in navy.exclude_colours


def test_runs_and_chappals(reader):
    assert "Sports" in reader.parse("track jacket for my morning runs, mens").soft.usages
    assert not reader.parse("it runs small").soft.usages  # a size, not a sport
    assert "Flats" in reader.parse("gold chappals to wear at my cousins mehendi").filter.article_types


def test_a_complement_prefers_the_photos_occasion(vocab):
    tie = PhotoLook(colour="Blue", article_type="Ties", gender="Men", price=72.99, colours=("Blue",), usage="Formal")
    filt, soft = edit_from_photo(Edits(complement=True), ProductFilter(article_types=("Shirts",)), tie, vocab, None)
    assert filt.article_types == ("Shirts",) and soft.usages == ("Formal",)
    tee = PhotoLook(colour="Blue", article_type="Tshirts", gender="Men", price=9.99, colours=("Blue",), usage="Casual")
    assert not edit_from_photo(Edits(complement=True), ProductFilter(), tee, vocab, None)[1].usages


def test_the_photos_colour_preferred_widens_to_near_colours_before_others(tmp_path):
    from PIL import Image

    from helpers import toy_assistant, write_catalog

    paint = {"Purple": (110, 20, 120), "Lavender": (200, 170, 230), "Blue": (40, 40, 190)}
    rows, images = [], {}
    for i, (colour, gender) in enumerate([("Purple", "Men")] + [("Purple", "Women")] + [("Lavender", "Women")] * 2
                                         + [("Blue", "Women")] * 6):
        pid = f"s{i}"
        rows.append({"id": pid, "title": f"Brand {gender} {colour} Shirt {i}", "gender": gender,
                     "article_type": "Shirts", "base_colour": colour, "usage": "Casual", "price": str(10 + i),
                     "image": f"images/{pid}.png"})
        im = Image.new("RGB", (60, 80), (255, 255, 255))
        im.paste(paint[colour], (15, 15, 45, 70))
        images[pid] = im
    shop = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images))
    reply = shop.new_session().send("my gf wants this shirt, is there a ladies version", image=images["s0"])
    colours = [p.product.base_colour for p in reply.products]
    assert colours[:3] == ["Purple", "Lavender", "Lavender"], colours


def test_a_kurti_is_a_kurta_to_shoppers(reader):
    assert set(reader.parse("kurti for college").filter.article_types) == {"Kurtis", "Kurtas"}


def test_a_colour_asked_for_leads_an_occasion_guessed_at(tmp_path):
    from PIL import Image

    from helpers import toy_assistant, write_catalog

    rows, images = [], {}
    for i, (colour, usage) in enumerate([("Blue", "Formal")] * 6 + [("Navy Blue", "Casual")] * 3):
        pid = f"k{i}"
        rows.append({"id": pid, "title": f"Brand Women {colour} Top {i}", "gender": "Women", "article_type": "Tops",
                     "base_colour": colour, "usage": usage, "price": str(20 + i), "image": f"images/{pid}.png"})
        images[pid] = Image.new("RGB", (60, 80), (40, 60, 200) if colour == "Blue" else (20, 20, 90))
    session = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images)).new_session()
    session.send("a top for work")
    session.send("blue ones")
    darker = session.send("darker blue pls")
    assert [p.product.base_colour for p in darker.products[:3]] == ["Navy Blue"] * 3, darker.constraints
