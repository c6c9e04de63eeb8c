"""Found on two new batches (`*40..`, `*41..`: 24 single messages, 10 photos and 12 conversations
each over `val` products, written by helpers that had not read the reader; first runs single 0.967 /
0.957, composed 0.900 / 0.840, conversations 0.914 / 0.967 per turn and 0.746 / 0.894 after the last)
and on what session 18 left open in its own batches. Each test fails on the code before its change.

- "purple or lilac shades" after bras showed sunglasses; "tops in shades of blue" and "kurtis in
  pastel shades" took sunglasses too: "shades" after colours or before "of" names colours;
- "salwar suite" read salwars: a typo in a kind's second word is corrected even to a dictionary word;
- "a fun bag for a night out" showed laptop bags: an evening's kinds come first among those named;
- "same but darker, grey gets dirty so fast" (grey trainers) and "too neon for me, something more
  muted" (a neon yellow tee) read the colour complained of as wanted;
- "ok those are pricey, lower?", "something that costs less", "easier on the wallet" (which read
  wallets) were no price moves;
- "only proper kurtas, not the short kurtis" excluded kurtas too;
- "and a jersey to go with them" after black football shorts lost the colour and the sport;
- "like these but for everyday" (white running shoes) showed black casual shoes, and "a cheaper pair
  like these" (black formal shoes) brown ones;
- "around 25" sorted near colours and other kinds in among what met the request;
- "more muted" than purple was charcoal and grey.
"""

from types import SimpleNamespace

from assistant.dialogue import Constraints, interpret
from retrieval.filters import ProductFilter
from retrieval.photo_edits import Edits
from retrieval.preferences import prefer


def test_shades_after_colours_or_before_of_are_colours(reader):
    for text in ("purple or lilac shades", "tops in shades of blue", "kurtis in pastel shades"):
        assert "Sunglasses" not in reader.parse(text).filter.article_types, text
    assert set(reader.parse("purple or lilac shades").filter.colours) >= {"Purple", "Lavender"}
    assert reader.parse("tops in shades of blue").filter.article_types == ("Tops",)
    for text in ("red shades", "cool shades for my bf", "black shades for the beach"):
        assert reader.parse(text).filter.article_types == ("Sunglasses",), text


def test_a_typo_in_a_kinds_second_word(reader):
    assert "Kurta Sets" in reader.parse("salwar suite with dupata for my mom").filter.article_types
    assert reader.parse("sports shorts").filter.article_types == ("Shorts",)  # a kind itself stays


def test_an_evenings_kinds_come_first_among_those_named(reader):
    bag = reader.parse("a fun bag for a night out")
    assert set(bag.soft.article_types) == {"Clutches", "Handbags"} and "Laptop Bag" in bag.filter.article_types
    assert "Backpacks" in reader.parse("a bag for college").soft.article_types  # as before


def test_a_colour_complained_of_is_not_wanted(reader):
    dirty = reader.parse("same but darker, grey gets dirty so fast")
    assert not dirty.filter.colours and "Grey" in dirty.filter.exclude_colours and not dirty.free_words
    neon = reader.parse("too neon for me, something more muted")
    assert not neon.filter.colours and "Yellow" in neon.filter.exclude_colours
    assert reader.parse("i want red too").filter.colours == ("Red",)


def test_more_ways_to_ask_for_lower_prices(reader):
    for text in ("ok those are pricey, lower?", "hmm something that costs less", "similar watch but easier on the wallet"):
        assert reader.parse(text).relative_price == "lower", text
    assert reader.parse("similar watch but easier on the wallet").filter.article_types == ("Watches",)


def test_one_kind_wanted_and_its_near_namesake_not(reader):
    parsed = reader.parse("only proper kurtas, not the short kurtis").filter
    assert parsed.article_types == ("Kurtas",) and parsed.exclude_article_types == ("Kurtis",)
    assert set(reader.parse("no kurtas").filter.exclude_article_types) >= {"Kurtas"}


def test_an_item_to_go_with_them_keeps_the_colour(reader):
    shorts = Constraints(ProductFilter(article_types=("Shorts",), colours=("Black",), genders=("Men",)))
    jersey = interpret("and a jersey to go with them", shorts, [], reader).constraints.filter
    assert jersey.colours == ("Black",) and jersey.genders == ("Men",) and "Shorts" not in jersey.article_types


def test_the_same_look_for_another_use_or_price_leads_with_the_photos_colours(reader):
    from test_reader_fresh_requests import _Embedder, _Store

    from retrieval.search import ProductSearch
    search = ProductSearch(_Store(), _Embedder(), reader)
    look = search.look_at(object())
    *_, lead = search._photo_edit(object(), Edits(relative_price="lower"), ProductFilter())  # "a cheaper pair"
    assert lead.colours == (look.colours or (look.colour,)) and lead.article_types == (look.article_type,)
    *_, lead = search._photo_edit(object(), Edits(usages=("Formal",)), ProductFilter())  # "for the office"
    assert lead.colours == (look.colours or (look.colour,)) and not lead.article_types  # the usage's kinds instead
    for edits, said in ((Edits(usages=("Casual",)), ProductFilter(colours=("Blue",))),  # a colour said leads itself
                        (Edits(complement=True), ProductFilter())):  # something to wear with it: any colour
        *_, lead = search._photo_edit(object(), edits, said)
        assert lead is None, edits


def test_a_price_order_keeps_what_met_the_request_first():
    def hit(pid, price, close=False):
        return SimpleNamespace(product=SimpleNamespace(id=pid, price=price), score=0.5,
                               signals=("text",) + (("close:base_colour=Charcoal",) if close else ()))
    hits = [hit("met", 31.0), hit("near", 25.0, close=True), hit("other-kind", 25.0)]
    order = [h.product.id for h in prefer(hits, None, "near", 3, around=25.0, leading=frozenset({"met"}))]
    assert order == ["met", "other-kind", "near"]
    assert [h.product.id for h in prefer(hits, None, "near", 3, around=25.0)] == ["other-kind", "met", "near"]


def test_more_muted_keeps_the_hue(reader):
    assert set(reader.colours.shifted(("Purple",), "muted")) == {"Mauve", "Lavender"}
    assert reader.colours.shifted(("Turquoise Blue",), "muted")[0] == "Teal"


# --- the second pair (`*42..`, `*43..`), run once after all of the above: single 0.975 / 0.864, composed
# 0.729 / 0.965 (0.729 / 0.945 read from the picture), conversations 0.896 / 0.971 per turn and 0.817 / 0.967
# after the last ---------------------------------------------------------------------------------------------
def test_a_refusal_and_a_complaint_of_loudness(reader):
    assert reader.parse("top for my 5 yr old girl, she refuses anything pink").filter.exclude_colours[:1] == ("Pink",)
    calmer = reader.parse("same kinda sweater but a calmer colour, this is too loud")
    assert calmer.relative_colour == "muted" and not calmer.free_words


def test_more_words_for_uses_and_colours(reader):
    works = reader.parse("white or black, either works")
    assert not works.soft.usages and not works.filter.usages and not works.free_words
    assert reader.parse("for his morning jogs").soft.usages == ("Sports",)
    assert reader.parse("something desi for me to wear to work").filter.usages == ("Ethnic",)
    assert "Beige" in reader.parse("biscuit colour cotton saree").filter.colours
    assert reader.parse("brwon sholder bag for wmn").filter.genders == ("Women",)
    for text in ("need a few bras", "black ideally", "navy preferably"):  # seen in the chat page's sidebar as "words"
        assert not reader.parse(text).free_words, text


def test_about_a_price_then_max_is_at_most_that(reader):
    parsed = reader.parse("budget is about 80 max").filter
    assert (parsed.min_price, parsed.max_price) == (None, 80)
    around = reader.parse("around 40 bucks").filter
    assert (around.min_price, around.max_price) == (30, 50)


def test_a_budget_said_of_a_photo_reads_the_photo(vocab):
    from retrieval.photo_edits import needs_photo

    assert needs_photo(ProductFilter(max_price=80), Edits())  # "same vibe but under 80 bucks"
    assert not needs_photo(ProductFilter(max_price=80, colours=("Red",)), Edits())


def test_preferences_given_outrank_those_the_words_guess(tmp_path):
    # seen in the chat page: "something warm round the neck for grandpa this winter" showed ties, because the
    # turn's leftover words ("round neck", read by embedding as ties) replaced the warm kinds in force
    from test_fresh_words_session18 import _shop

    rows = [{"id": f"{kind[0]}{i}", "title": f"Brand Unisex Black {kind} {i}", "gender": "Unisex",
             "article_type": kind, "base_colour": "Black", "price": str(20 + i)}
            for kind in ("Backpacks", "Handbags") for i in range(4)]
    shop, _ = _shop(tmp_path, rows, {"Black": (10, 10, 10)})
    guessed = shop.search_engine.run("a bag for college", k=4)
    assert {h.product.article_type for h in guessed.hits} == {"Backpacks"}  # the words' own guess
    given = shop.search_engine.run("a bag for college", k=4, soft=ProductFilter(article_types=("Handbags",)))
    assert {h.product.article_type for h in given.hits} == {"Handbags"}
