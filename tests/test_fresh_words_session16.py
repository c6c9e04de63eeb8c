"""Found on two fresh batches of hand-written dev requests (session 16, `*28..` and `*29..`: 16
single messages, 14 photos and 12 conversations each over `val` products, written by helpers
that had not read the reader; first runs single 0.887 / 0.925, conversations 0.935 / 0.839 and
0.854 / 0.662 per turn / after the last). Each test fails on the code before its change:

- "no jeggings, proper jeans" excluded jeans too: a negation carries over a second phrase of
  the same facet only through "or" / "and" ("not jeggings or leggings");
- "casual slip ons for my hubby", then "he'd wear them to work too so a bit more formal" kept
  casual shoes only: a usage the message prefers replaces one in force that it is not;
- "something cheaper" after three grey trunks (8.99, 19.99, 21.99) capped the price at 8.98,
  below what grey trunks typically cost, and showed one navy pair: "cheaper" goes only as far
  as still leaves a page (the other anchor, the page's median, here).
(What the photos showed is in test_recognised_pictures.)

Two more (`*30..`, `*31..`), run once after all of the above (first runs: single 0.966 / 0.889,
composed 0.897 / 0.686, conversations 0.848 / 0.800 and 0.914 / 0.896), showed:

- "similar kurta but not this pricey, max 60" on a kurta at 147.99 showed kurtas over 60: the
  photo's kind was made the only kind, no kurta costs under 60, and the budget was loosened; the
  photo's kind among the words' now comes first, the words' other kinds (kurtis) after;
- "hmm darker, more like a wine shade" (lipstick for a mother) filled with red unisex lipsticks
  before the maroon unisex ones: Unisex in the colours asked now comes before neighbouring colours
  (no test here: in the toy shop the order came out right before too; the conversation `v3003`
  went 0.2 -> 1.0);
- "want these hi tops but all white" read tops; "my feet hurt in heels" wanted heels; "a bag for
  college" and "something warm for my sister" said nothing of what kind of thing.

Seen in the chat page (headless Chromium) on the trunks conversation: "the only grey one" on a
grey trunk beside a Grey Melange one, whose own card called it "a grey trunk"; and "mens
underwear" led with "Here are 5 briefs, trunks, boxers or bras for men". After all the fixes, on a
lipstick conversation: "lipstick for my mom" led with "Nothing is exactly lipstick for women"
(the catalog files lipsticks unisex), and "hmm darker, more like a wine shade" was read as "more
like" the first lipstick shown ("that look like the lipstick you picked"); "what footwear goes with
this dress" led with "Here are 5 products to go with your photo".
"""

from assistant.dialogue import Constraints, interpret
from retrieval.catalog import Product
from retrieval.contrasts import contrasts_for
from retrieval.filters import ProductFilter
from retrieval.photo_edits import Edits, PhotoLook, edit_from_photo


def test_a_negation_does_not_carry_past_other_words_to_the_next_kind(reader):
    jeans = reader.parse("no jeggings, proper jeans").filter
    assert jeans.article_types == ("Jeans",) and jeans.exclude_article_types == ("Jeggings",)
    both = reader.parse("not jeggings or leggings").filter
    assert set(both.exclude_article_types) == {"Jeggings", "Leggings"} and not both.article_types
    assert reader.parse("no heels, black flats").filter.article_types == ("Flats",)


def test_a_usage_preferred_replaces_the_one_in_force(reader):
    before = Constraints(ProductFilter(article_types=("Casual Shoes",), genders=("Men",), usages=("Casual",),
                                       colours=("Brown", "Tan")))
    after = interpret("he'd wear them to work too so a bit more formal", before, [], reader).constraints
    assert "Casual" not in after.filter.usages and "Formal" in after.soft.usages
    assert after.filter.colours == ("Brown", "Tan") and after.filter.genders == ("Men",)
    # a preference among the usage in force keeps it
    party = Constraints(ProductFilter(article_types=("Dresses",), usages=("Party",)))
    assert interpret("a bit dressier", party, [], reader).constraints.filter.usages == ("Party",)


def test_cheaper_leaves_a_page(reader):
    shown = [Product(f"t{i}", "Trunk", gender="Men", article_type="Trunk", base_colour="Grey", price=p)
             for i, p in enumerate((8.99, 19.99, 21.99))]
    before = Constraints(ProductFilter(article_types=("Trunk",), genders=("Men",), colours=("Grey",)))

    def ask(floor):
        return interpret("something cheaper", before, shown, reader, typical_price=lambda f: 8.99,
                         price_floor=floor).constraints.filter.max_price
    assert ask(None) == 8.98  # the lower anchor, when nothing says how many are left under it
    assert ask(lambda f: 12.99) == 19.98  # five cost 12.99 or less: below the page's median
    assert ask(lambda f: 4.99) == 8.98  # five cost 4.99 or less: below what such trunks cost


def test_the_only_grey_one_is_not_said_beside_a_grey_melange_one():
    def trunk(pid, colour, price):
        return Product(pid, f"Brand Men {colour} Trunks", gender="Men", article_type="Trunk", base_colour=colour,
                       price=price, usage="Casual")
    shown = [trunk("a", "Grey", 8.99), trunk("b", "Grey Melange", 19.99), trunk("c", "Charcoal", 21.99)]
    said = [c.text for c in contrasts_for(shown)[0]]
    assert "the only grey one" not in said and "the cheapest of the three" in said
    assert "the only charcoal one" in [c.text for c in contrasts_for(shown)[2]]  # a colour of its own name


def test_the_lead_names_the_kinds_shown_of_those_asked(tmp_path):
    from helpers import toy_assistant

    reply = toy_assistant(tmp_path).new_session().send("blue tshirts or watches for men under 25")
    assert [p.product.article_type for p in reply.products] == ["Tshirts"]  # no blue watch costs under 25
    assert "watch" not in reply.text.lower()


def test_the_photos_kind_among_the_words_comes_first_and_the_others_follow(vocab):
    stated = ProductFilter(article_types=("Kurtas", "Kurtis"), max_price=60)
    look = PhotoLook(colour="Green", article_type="Kurtas", gender="Women", price=147.99, colours=("Green",))
    filt, soft = edit_from_photo(Edits(), stated, look, vocab, None)
    assert set(filt.article_types) == {"Kurtas", "Kurtis"} and filt.max_price == 60  # was Kurtas alone
    assert soft.article_types == ("Kurtas",) and soft.colours == ("Green",)


def test_shoppers_words_for_kinds_and_reasons(reader):
    assert set(reader.parse("want these hi tops but all white").filter.article_types) == {"Casual Shoes", "Sports Shoes"}
    flat = reader.parse("same look but flat, my feet hurt in heels").filter
    assert flat.article_types == ("Flats",) and flat.exclude_article_types == ("Heels",)
    college = reader.parse("need a bag for college")
    assert "Backpacks" in college.soft.article_types and "Handbags" not in college.soft.article_types
    assert "Sweaters" in reader.parse("something warm for my sister").soft.article_types


def test_unisex_products_are_for_her_in_the_lead_and_more_like_a_shade_is_no_reference(tmp_path):
    from PIL import Image

    from helpers import toy_assistant, write_catalog

    rows, images = [], {}
    for i, (colour, gender) in enumerate([("Red", "Unisex")] * 6 + [("Maroon", "Unisex")] * 3 + [("Black", "Women")]):
        pid = f"l{i}"
        rows.append({"id": pid, "title": f"Brand {colour} Lipstick {i}", "gender": gender, "article_type": "Lipstick",
                     "base_colour": colour, "usage": "Casual", "price": str(5 + i), "image": f"images/{pid}.png"})
        images[pid] = Image.new("RGB", (60, 80), (220, 20, 20) if colour == "Red" else (128, 0, 0))
    shop = toy_assistant(tmp_path, catalog=write_catalog(tmp_path / "cat", rows, images))
    first = shop.new_session().send("red lipstick for my mom")
    assert first.text.startswith("Here are 5 red lipstick") and "for women" in first.text  # was "Nothing is exactly"
    session = shop.new_session()
    session.send("red lipstick")
    darker = session.send("hmm darker, more like a wine shade")
    assert "you picked" not in darker.text and darker.products[0].product.base_colour == "Maroon"


def test_the_lead_names_what_goes_with_the_photo(tmp_path):
    from helpers import shirt_image, toy_assistant

    reply = toy_assistant(tmp_path).new_session().send("something to go with this", image=shirt_image("Blue"))
    kinds = {p.product.article_type.lower() for p in reply.products}
    assert reply.products and "products" not in reply.text.split(" to go with")[0]  # was "Here are 5 products ..."
    assert any(k in reply.text.lower() for k in kinds) and "to go with your photo" in reply.text
