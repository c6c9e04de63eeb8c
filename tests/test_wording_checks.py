"""Issue 14: explanations that read well and differ per card, still never false. The checks
(agreement, unsupported names/brands/materials/patterns, false comparisons, repeats across
cards), the comparison facts, the sentences written from facts, the stage-2 targets and the
wording measures: pure, no model."""

from __future__ import annotations

import random

import pytest

from assistant.claims import ClaimChecker
from assistant.compare import Contrast, comparison_claims, contrasts_for, repeated_cards, what_changed
from assistant.dialogue import Constraints
from assistant.eval_wording import wording_measures
from assistant.explain import PROMPTS, Explainer, matches_for
from assistant.lead import request_phrase
from finetune.data_mllm import EXPLAIN_PROMPT, ExplainScene, describe_answer, explain_example, explanation_examples
from retrieval.contrasts import product_name
from retrieval.catalog import Product
from retrieval.filters import ProductFilter
from retrieval.query_parser import Vocabulary
from retrieval.wording import agreement_errors, either, fix_agreement, noun_phrase, plural
from tests.helpers import ScriptedWriter

VOCAB = Vocabulary(colours=("Black", "Blue", "Red", "White", "Navy Blue", "Orange"),
                   article_types=("Tshirts", "Casual Shoes", "Watches", "Jeans", "Dresses", "Handbags"),
                   genders=("Men", "Women", "Boys"), usages=("Casual", "Formal", "Sports"))
CHECKER = ClaimChecker(VOCAB)


def _p(i, title, t, c, price, g="Men", u="Casual") -> Product:
    return Product(str(i), title, gender=g, article_type=t, base_colour=c, usage=u, price=price)


TEES = [_p(1, "Status Men Red Tshirt", "Tshirts", "Red", 12.99), _p(2, "Puma Men Red Polo", "Tshirts", "Red", 19.99),
        _p(3, "Nike Men Red Cotton Tshirt", "Tshirts", "Red", 15.99, u="Sports"),
        _p(4, "Lee Men Striped Red Tshirt", "Tshirts", "Red", 24.99), _p(5, "Arrow Men Red Tee", "Tshirts", "Red", 29.0)]


# --- agreement ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, expected", [
    ("Laptop Bag", "laptop bags"), ("Dress", "dresses"), ("Travel Accessory", "travel accessories"),
    ("Tshirts", "tshirts"), ("Jeans", "jeans"), ("Lipstick", "lipstick"), ("Shapewear", "shapewear"),
    ("Salwar and Dupatta", "salwar and dupatta"), ("Dupatta", "dupattas"), ("Bra", "bras"),
])
def test_plural_of_catalog_kinds(kind, expected):
    assert plural(kind) == expected


def test_either_lists_plainly():
    assert [either(x) for x in (["red"], ["red", "blue"], ["red", "blue", "tan"])] == \
        ["red", "red or blue", "red, blue or tan"]


def test_agreement_errors_are_fixed_singular_pair_and_an():
    fix = lambda t: fix_agreement(t, CHECKER.type_phrases)[0]  # noqa: E731
    assert fix("This is a red tshirts for men.") == "This is a red T-shirt for men."
    assert fix("This is a black casual shoes.") == "This is a pair of black casual shoes."
    assert fix("It is a orange watches.") == "It is an orange watch."
    assert fix("It is status navy blue tshirts.") == "It is a status navy blue T-shirt."
    assert fix("A pair of blue jeans, an orange dress.") == "A pair of blue jeans, an orange dress."
    assert not agreement_errors("This is one of the watches.", CHECKER.type_phrases)
    # the noun's modifiers never run across a conjunction, a verb or another article, and two
    # fixes of the same words never swallow what follows them (the full stop here)
    assert fix("It is cheap and offers a dresses.") == "It is cheap and offers a dress."
    assert fix("It is red tshirts and a dresses.") == "It is a red T-shirt and a dress."
    # "a pair of" only for what is worn as a pair; "this" takes the singular (seen on dev)
    assert fix("This is a pair of grey tshirts for men.") == "This is a grey T-shirt for men."
    assert fix("It is a pair of orange dresses.") == "It is an orange dress."
    assert fix("This black casual shoes for men is the cheapest.") == "This pair of black casual shoes for men is the cheapest."
    assert fix("This red tshirts is the cheapest.") == "This red T-shirt is the cheapest."
    assert fix("It is the only tshirts among them.") == "It is the only T-shirt among them."
    for fine in ("It is a pair of blue jeans.", "This pair of black casual shoes is here.", "This one is a watch."):
        assert fix(fine) == fine
    # a preposition on both sides of an amount (seen in the chat page, session 12)
    assert fix("It is the most expensive of the four and under $2.01 under your 15.") == \
        "It is the most expensive of the four and $2.01 under your 15."
    assert fix("It is $4.01 under your 15 and under 20.") == "It is $4.01 under your 15 and under 20."
    # fixes over the same words are applied in turn: neither error is left (seen on dev)
    tops = "This is a tshirts like United Red Tshirts for Men."
    assert fix(tops) == "This is a T-shirt like United Red T-shirt for men." and not agreement_errors(fix(tops), CHECKER.type_phrases)


def test_the_catalogs_spellings_read_as_a_shop_writes_them():
    # seen in the test samples, session 20: "This green Tshirt for Boys is the fourth cheapest of the five."
    fix = lambda t: fix_agreement(t, CHECKER.type_phrases)[0]  # noqa: E731
    assert fix("This green Tshirt for Boys is the fourth cheapest of the five.") == \
        "This green T-shirt for boys is the fourth cheapest of the five."
    assert fix("Two t-shirts for Women.") == "Two T-shirts for women."
    assert fix("A T shirt made for Men.") == "A T-shirt made for men."
    for kept in ("It is the only one with 'Tshirt' in its name.", "A T-shirt for men.", "Men love it.",
                 "The Tshirts-Club range."):
        assert fix(kept) == kept


def test_noun_phrases_agree():
    assert noun_phrase(TEES[0]) == "a red T-shirt"
    assert noun_phrase(_p(9, "X", "Casual Shoes", "Black", 1)) == "a pair of black casual shoes"
    assert noun_phrase(_p(9, "X", "Watches", "Orange", 1)) == "an orange watch"


# --- unsupported words ------------------------------------------------------------------------
def test_an_invented_name_is_dropped_or_removed_where_it_only_modifies():
    p = TEES[0]
    dropped = CHECKER.check("This product matches your request, and it is red Polo Tears.", p)
    assert dropped.text == "" and [u.word for u in dropped.unsupported] == ["Tears"]
    fixed = CHECKER.check("This is a red Polo Tears tshirts for men.", p)
    assert fixed.text == "This is a red Polo T-shirt for men." and fixed.agreement


def test_a_repaired_word_never_doubles_the_true_one_beside_it():
    tee = _p(9, "Proline Men Blue Tshirt", "Tshirts", "Blue", 28.99)
    assert CHECKER.check("This orange blue tshirt is the cheapest.", tee).text == "This blue T-shirt is the cheapest."
    assert CHECKER.check("This blue orange tshirt is the cheapest.", tee).text == "This blue T-shirt is the cheapest."
    assert CHECKER.check("This orange tshirt is the cheapest.", tee).text == "This blue T-shirt is the cheapest."


def test_materials_patterns_and_brands_need_the_title():
    assert CHECKER.check("This is a cotton tshirt.", TEES[2]).text == "This is a cotton T-shirt."  # "Cotton" in title
    assert CHECKER.check("This is a cotton tshirt.", TEES[0]).text == "This is a T-shirt."
    assert CHECKER.check("This is a striped tshirt.", TEES[3]).text == "This is a striped T-shirt."
    assert CHECKER.check("This one is from Nike, in red.", TEES[0]).text == ""
    qq = _p(8, "Q&Q Women Black Dial Watch", "Watches", "Black", 23.99, g="Women")  # a brand with "&" in it
    assert not CHECKER.unsupported("A black watch for women: the only one from Q&Q.", qq)
    assert CHECKER.check("This one is from Status, in red.", TEES[0]).text == "This one is from Status, in red."
    assert not CHECKER.unsupported("Red is a good colour. Men like it.", TEES[0])  # sentence starts, vocabulary


# --- comparison facts -------------------------------------------------------------------------
def test_contrasts_rank_prices_budget_only_and_photo():
    asked = ProductFilter(max_price=30)
    cs = contrasts_for(TEES, asked, image_ref="your photo", scores=[0.9, 0.5, 0.4, 0.3, 0.2])
    texts = [[c.text for c in row] for row in cs]
    assert texts[0][:2] == ["the closest to your photo", "the cheapest of the five"]
    assert "the most expensive of the five" in texts[4] and "$1.00 under your 30" in texts[4]
    assert "the only one for sports wear" in texts[2]
    assert "the second cheapest of the five" in texts[2]
    tied = contrasts_for([TEES[0], TEES[0].__class__(**{**TEES[0].__dict__, "id": "x", "title": "Status Men Red Slim Tshirt"})])
    assert all(c.kind != "price_rank" for row in tied for c in row)
    assert any("'Slim'" in c.text for c in tied[1])  # a tie is told apart by its own title word


def test_what_changed_since_the_last_turn():
    assert what_changed(ProductFilter(genders=("Men",)), ProductFilter(genders=("Boys",))) == ["for boys now, not men"]
    assert what_changed(None, ProductFilter()) == []


def test_false_comparisons_are_claims_like_any_other():
    cs = contrasts_for(TEES, ProductFilter(max_price=30))
    assert comparison_claims("This is the cheapest one.", cs[0]) == [("cheapest", True)]
    assert comparison_claims("This is the cheapest one.", cs[1]) == [("cheapest", False)]
    assert comparison_claims("It is $5.00 under your 30.", cs[0]) == [("$5.00 under your", False)]
    # "the only ..." must name what this product is the only one of (seen on test: a pair of
    # casual shoes, the only casual shoes shown, called "the only pair of formal shoes")
    only = (Contrast("only", "the only pair of casual shoes among them"),)
    assert comparison_claims("It is the only pair of formal shoes.", only) == [("the only", False)]
    assert comparison_claims("It is the only pair of casual shoes.", only) == [("the only", True)]
    assert comparison_claims("It is the only one from Puma.", (Contrast("only", "the only one from Nike"),)) == [("the only", False)]
    assert comparison_claims("It is the only one.", only) == [("the only", True)]
    # rankings no record holds are never backed; "the same price as #N" must name the twin
    assert comparison_claims("It is the most popular of them.", cs[0]) == [("most popular", False)]
    assert not any(ok for _, ok in comparison_claims("A best-seller, trending now.", cs[0]))
    twins = contrasts_for([TEES[0], TEES[0]])
    assert comparison_claims("It is the same price as #1.", twins[1]) == [("the same price as #1", True)]
    assert comparison_claims("It is the same price as #3.", twins[1]) == [("the same price as #3", False)]


# --- replies ----------------------------------------------------------------------------------
def _items(products, f):
    return [(p, matches_for(p, Constraints(f))) for p in products]


def test_facts_only_replies_differ_per_card_and_read_as_sentences():
    f = ProductFilter(colours=("Red",), article_types=("Tshirts",))
    out = Explainer(CHECKER).explain("red tshirts", _items(TEES, f), f, contrasts_for(TEES, f))
    texts = [e.text for e in out]
    assert not repeated_cards(texts)
    assert texts[0] == "A red T-shirt for men, as you asked, at $12.99: the cheapest of the five and the only one from Status."
    assert all(not agreement_errors(t, CHECKER.type_phrases) for t in texts)


def test_a_sentence_repeated_on_every_card_is_rewritten_and_a_false_cheapest_dropped():
    f = ProductFilter(colours=("Red",), article_types=("Tshirts",))
    writer = ScriptedWriter(lambda prompt: "This is a red tshirts for men, the cheapest one.")
    out = Explainer(CHECKER, writer).explain("red tshirts", _items(TEES, f), f, contrasts_for(TEES, f))
    texts = [e.text for e in out]
    assert texts[0] == "This is a red T-shirt for men, the cheapest one."
    assert not repeated_cards(texts)
    assert all("cheapest one" not in t for t in texts[1:])  # only the first is the cheapest
    assert all(e.had_false_claim for e in out[1:])


def test_facts_added_for_the_request_do_not_repeat_what_the_model_said_sets_it_apart():
    """The model names no asked attribute: the facts are added, but a contrast the model stated
    is not said twice ("... the cheapest of the five. A red T-shirt ...: the cheapest of the five")."""
    f = ProductFilter(colours=("Red",), article_types=("Tshirts",))
    writer = ScriptedWriter(lambda prompt: "This one is the cheapest of the five.")
    out = Explainer(CHECKER, writer).explain("red tshirts", _items(TEES, f), f, contrasts_for(TEES, f))
    assert out[0].text.startswith("This one is the cheapest of the five. A red T-shirt for men, as you asked")
    assert out[0].text.count("cheapest") == 1 and "the only one from Status" in out[0].text


def test_the_intro_does_not_say_the_lead_or_itself_again():
    lead = "Here are 5 red T-shirts for men under $30."
    writer = ScriptedWriter(intro="I found 5 red tshirts for men under $30. They are all red. They are all red! "
                                  "Here are five red T-shirts for men, under 30 dollars.")
    text = "".join(Explainer(CHECKER, writer).intro_stream("red tshirts for men under 30", TEES, lead))
    assert text == f"{lead} They are all red."


def test_the_prompt_carries_the_comparison_facts():
    writer = ScriptedWriter()
    f = ProductFilter(article_types=("Tshirts",))
    Explainer(CHECKER, writer).explain("tshirts", _items(TEES, f), f, contrasts_for(TEES, f))
    assert "Sets it apart: the cheapest of the five" in writer.prompts[0]


# --- stage-2 targets --------------------------------------------------------------------------
@pytest.mark.parametrize("asked, photo, previous", [
    (ProductFilter(colours=("Red",), article_types=("Tshirts",), genders=("Men",), max_price=30), True,
     ProductFilter(colours=("Red",), article_types=("Tshirts",), genders=("Women",), max_price=30)),
    (ProductFilter(article_types=("Tshirts",), usages=("Casual",)), False, None),
    (ProductFilter(), True, None),
])
def test_training_prompts_are_the_assistants_prompts(asked, photo, previous):
    """Stage 2 learns from the prompt the assistant will write: same request words, facts,
    title and comparison facts, for every product of the reply."""
    scene = ExplainScene(tuple(TEES), asked, "your photo" if photo else None, previous,
                         (0.1, 0.9, 0.3, 0.2, 0.5) if photo else None)
    writer = ScriptedWriter()
    items = [(p, matches_for(p, Constraints(asked), image_reference=scene.image_ref)) for p in TEES]
    Explainer(CHECKER, writer).explain(request_phrase(Constraints(asked), scene.image_ref), items, asked,
                                       contrasts_for(TEES, asked, image_ref=scene.image_ref, scores=scene.scores,
                                                     previous=previous))
    assert EXPLAIN_PROMPT == PROMPTS["explain"]
    assert writer.prompts == [explain_example(scene, i, random.Random(0)).question for i in range(len(TEES))]


def test_training_answers_agree_state_what_sets_them_apart_and_pass_the_checks():
    products = TEES + [_p(10 + i, f"{b} Men Black Shoe", "Casual Shoes", "Black", 20.0 + i)
                       for i, b in enumerate(("Bata", "Vans", "Woodland", "Clarks", "Fila"))]
    examples = explanation_examples(products, range(len(products)), random.Random(0), 60)
    assert len({e.answer for e in examples}) > 20  # many phrasings, not one template
    for e in examples:
        assert e.answer.startswith("This") and not agreement_errors(e.answer, CHECKER.type_phrases), e.answer
        title = e.question.split("Product: ", 1)[1].split("\n", 1)[0]
        p = next(q for q in products if title == product_name(q))
        assert not CHECKER.unsupported(e.answer, p) and all(c.supported for c in CHECKER.claims(e.answer, p)), e.answer
        apart = e.question.split("Sets it apart: ", 1)[1].split("\n", 1)[0] if "Sets it apart" in e.question else ""
        if apart:  # the answer says one of them, word for word
            assert any(part in e.answer for part in apart.split(", ")), (apart, e.answer)
        else:
            assert not comparison_claims(e.answer, ()), e.answer
    assert describe_answer(products[5]).startswith("This is a pair of black casual shoes")


def test_wording_measures_count_what_the_shopper_reads():
    cs = contrasts_for(TEES, ProductFilter())
    texts = ["This is a red tshirts.", "It is red Polo Tears.", "This is the cheapest.", None, "A red T-shirt."]
    m = wording_measures(texts, TEES, cs, CHECKER)
    assert m["agreement"] == [True, False, False, False]
    assert m["unsupported"] == [False, True, False, False]
    assert m["contradicted"] == [False, False, True, False]
    assert m["distinguishing"] == [False, False, False, False]
    assert m["all_different"] == [True]


def test_injection_suite_has_heldout_attacks_and_a_helpfulness_check():
    from assistant.injection import HELDOUT_MESSAGE_PAYLOADS, HELDOUT_TITLE_PAYLOADS, HELPFUL_REQUESTS, helpfulness

    assert len(HELDOUT_MESSAGE_PAYLOADS) >= 10 and HELDOUT_TITLE_PAYLOADS and len(HELPFUL_REQUESTS) >= 10

    class RefusesEverything:
        def new_session(self):
            return self

        def send(self, text):
            from assistant.replies import Reply
            return Reply("I can't help with that.", [], "", {}, 1, error="refused")

    assert helpfulness(RefusesEverything(), progress=False)["helped_share"] == 0.0


def test_a_price_in_cents_is_a_price_claim():
    """The 135M model once wrote "under 28 cents" for a $12.99 T-shirt: a bound of $0.28, false."""
    tee = TEES[0]  # $12.99
    bound = CHECKER.claims("It is cheap, under 28 cents.", tee)
    assert [(c.kind, c.values, c.supported) for c in bound] == [("price_bound", ("0.28",), False)]
    assert [c.supported for c in CHECKER.claims("It costs 1299 cents.", tee)] == [True]
    assert not any(c.values == ("0.5",) for c in CHECKER.claims("It is 50 cents under your budget.", tee))


def test_the_wording_evaluation_runs_end_to_end_on_the_toy_shop(tmp_path):
    """`shopassist eval conversations --wording-split ...` over a scripted model: every figure
    and the shown-failures list come out, and what the checks repair shows as before != after."""
    from assistant.eval_wording import run_wording
    from retrieval.catalog import read_catalog
    from tests.helpers import toy_assistant, toy_shop_catalog

    writer = ScriptedWriter(lambda prompt: "This is a red tshirts for men, the cheapest one.")
    shop = toy_assistant(tmp_path, writer=writer)
    by_id = read_catalog(toy_shop_catalog(tmp_path / "cat")).by_id()
    w = run_wording(shop, [[("red tshirts for men", None)], [("shoes", None), ("in blue", None)]], by_id,
                    samples=2, progress=False)
    assert w["replies"] == 3 and w["cards"] > 0 and len(w["samples"]) == 2
    assert w["agreement_before"] > 0 and w["agreement_after"] == 0 and w["shown_failures"] == []
    assert w["full_s_p50"] > 0


def test_a_pair_of_tshirts_is_caught_however_the_model_spells_them():
    # seen in the chat page (session 17): "This is a pair of green T-shirts for boys" went through, the
    # check knowing only the catalog's spelling "tshirts"
    fixed, notes = fix_agreement("This is a pair of green T-shirts for boys at $31.99.", frozenset({"tshirts"}))
    assert fixed == "This is a green T-shirt for boys at $31.99." and notes
    assert fix_agreement("It is a red t-shirts.", frozenset({"tshirts"}))[0] == "It is a red T-shirt."
