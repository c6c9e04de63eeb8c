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
  out") is a negation, and its words are no description (seen in the chat page: kept as words,
  they were read again after "black ones" as a complaint about black);
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

Two more batches (`*34..`, `*35..`), run once after all of the above, showed (tests at the end):
- "a top for my son to wear with these" (and, in the chat page, "green tops" then "for her twin
  brother") found nothing: the catalog files Tops for women and girls; a "top" for a man or a boy
  is now a tee or a shirt, and the reply says so;
- "jewellery, maybe a ring" stayed on every kind of jewellery: "jewellery" had left out rings,
  bangles and bracelets, so a ring was no narrower kind of it;
- "lighter blue, navy is too dark" kept navy; "hes wearing them w chinos" switched to chinos ("w"
  for "with"); "something lighter than that grey" (and "than brown") kept the colour it moves from.
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


def test_a_complaint_leaves_no_words_to_read_again(reader):
    # seen in the chat page: "black ones" after it said "Nothing is exactly black flats", as the request in
    # force was searched as "Black kill feet Flats" and read again, "black" now complained of
    first = interpret("heels kill my feet, flats pls", Constraints(), [], reader).constraints
    assert first.words == ()
    again = reader.parse(interpret("black ones", first, [], reader).constraints.query_text()).filter
    assert again.colours == ("Black",) and again.article_types == ("Flats",) and not again.exclude_colours


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
    twin = interpret("actually make it for her twin brother", girl, [], reader).constraints
    brother = twin.filter
    assert twin.words == ()  # "twin" is part of who it is for (the sidebar had shown "words: twin")
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


def test_the_sidebar_shows_what_is_not_wanted(reader):
    from types import SimpleNamespace

    from ui.chat import active_filters

    c = interpret("heels kill my feet, flats pls", Constraints(), [], reader).constraints
    shown = active_filters(SimpleNamespace(constraints=c, reference=None))
    assert ("exclude_article_types", "Heels") in shown and ("article_types", "Flats") in shown


# --- the second pair of batches (`*34..`, `*35..`; first runs single 0.830 / 1.000, composed 0.757 / 0.871,
# conversations 0.879 / 0.801 per turn and 0.733 / 0.653 after the last) -----------------------------------
def test_a_top_for_a_boy_is_a_tee_or_a_shirt():
    from types import SimpleNamespace

    from assistant.dialogue import Interpretation
    from assistant.stocked import kinds_they_wear

    def facet_counts(filt, attrs):
        if attrs == ("gender",):
            return {"gender": {} if filt.genders == ("Boys",) else {"Women": 285, "Girls": 66}}
        if attrs == ("sub_category",):
            return {"sub_category": {"Topwear": 351}}
        return {"article_type": {"Tshirts": 134, "Shirts": 30, "Waistcoat": 3}}
    shop = SimpleNamespace(facet_counts=facet_counts)
    asked = Interpretation("search", Constraints(ProductFilter(article_types=("Tops",), genders=("Boys",),
                                                               colours=("Green",))))
    worn = kinds_they_wear(shop, asked)
    assert worn.constraints.filter.article_types == ("Tshirts", "Shirts") and worn.constraints.filter.colours == ("Green",)
    assert "not made for boys" in worn.notes[0]
    heels = Interpretation("search", Constraints(ProductFilter(article_types=("Heels",), genders=("Boys",))))
    assert kinds_they_wear(shop, heels) is heels  # only an everyday word for any such item ("top") is read so


def test_more_words_from_the_second_pair_of_batches(reader):
    assert reader.parse("jewellery, maybe a ring").filter.article_types == ("Ring",)
    navy = reader.parse("lighter blue, navy is too dark").filter
    assert "Navy Blue" in navy.exclude_colours and "Navy Blue" not in navy.colours
    red = reader.parse("the red is too bright")
    assert red.filter.exclude_colours == ("Red",) and not red.soft.colours  # the complaint is not a wish for bright
    chinos = reader.parse("no sporty ones pls, hes wearing them w chinos").filter
    assert not chinos.article_types and chinos.exclude_usages == ("Sports",)  # chinos are what they go with
    assert "Grey" not in reader.parse("hmm something lighter than that grey").filter.colours
    assert "Brown" not in reader.parse("something lighter than brown").filter.colours


def test_a_colour_asked_again_is_no_longer_excluded_with_its_shades(reader):
    # the scripted conversations (session 17): "not grey", then "grey ones" kept grey melange excluded
    no_grey = interpret("not grey", Constraints(ProductFilter(article_types=("Sports Shoes",))), [], reader).constraints
    assert {"Grey", "Grey Melange"} <= set(no_grey.filter.exclude_colours)
    grey = interpret("grey ones", no_grey, [], reader).constraints.filter
    assert grey.colours == ("Grey",) and not grey.exclude_colours
