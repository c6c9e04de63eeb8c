"""The turn pipeline's contracts: the lead sentence, the request snapshot a turn is explained
against, one turn handle for every kind of turn (never raising), replaceable stages, and the
session methods the page uses instead of assigning state."""

from dataclasses import replace

import pytest

from assistant import DEFAULT_STAGES, AssistantConfig, Parts, build_assistant
from assistant.dialogue import Constraints
from assistant.lead import lead_sentence, request_phrase
from assistant.pipeline import Understanding, understand
from retrieval.filters import ProductFilter
from tests.helpers import ScriptedWriter, shirt_image, toy_assistant


# --- the lead -----------------------------------------------------------------------------
def test_lead_names_what_was_searched():
    c = Constraints(ProductFilter(colours=("Red",), article_types=("Tshirts",), genders=("Men",), max_price=30.0))
    assert lead_sentence(c, 5, None, None) == "Here are 5 red T-shirts for men under $30."


def test_lead_puts_every_kind_in_the_plural_and_lists_them_plainly():
    bags = Constraints(ProductFilter(colours=("Black", "Brown", "Tan"),
                                     article_types=("Handbags", "Laptop Bag", "Duffel Bag", "Clutches")))
    assert lead_sentence(bags, 5, None, None) == \
        "Here are 5 black, brown or tan handbags, laptop bags, duffel bags or clutches."
    one = Constraints(ProductFilter(article_types=("Laptop Bag",)))
    assert lead_sentence(one, 5, None, None) == "Here are 5 laptop bags."  # was "Here are 5 laptop bag."
    assert lead_sentence(one, 1, None, None) == "Here is one match: laptop bag."


def test_lead_for_one_product_words_image_and_bounds():
    c = Constraints(ProductFilter(article_types=("Watches",), min_price=10.0, max_price=40.0,
                                  exclude_colours=("Black",), usages=("Formal",)), words=("slim",))
    lead = lead_sentence(c, 1, "your photo", None)
    assert lead == "Here is one match: slim watch for formal wear not black between $10 and $40 " \
                   "that looks like your photo."
    tops = Constraints(ProductFilter(colours=("Maroon",), article_types=("Tops",), genders=("Women",)))
    assert lead_sentence(tops, 5, None, None, close=4) == "Here is 1 maroon top for women, and 4 close to it."
    assert lead_sentence(tops, 5, None, None, close=5) == "Nothing is exactly maroon tops for women; here are the 5 closest."
    assert lead_sentence(Constraints(ProductFilter(min_price=50.0)), 2, None, None) == "Here are 2 products over $50."


def test_lead_says_the_shoppers_words_before_the_kind_and_what_is_not_wanted():
    c = Constraints(ProductFilter(colours=("Blue",), article_types=("Shirts",), genders=("Men",),
                                  exclude_usages=("Formal",)), words=("checked",))
    assert lead_sentence(c, 5, None, None) == "Here are 5 blue checked shirts for men not for formal wear."
    assert request_phrase(c) == "blue shirts (checked) for men"  # the prompts keep their trained wording


def test_lead_says_what_was_loosened_and_the_notes_first():
    c = Constraints(ProductFilter(colours=("Red", "Blue")))
    lead = lead_sentence(c, 3, None, "Nothing matches red dresses under 20.", ("you named red and blue: showing either",))
    assert lead.startswith("Nothing matches red dresses under 20. (You named red and blue: showing either.) Here are 3")
    assert lead_sentence(c, 0, None, "Nothing in the catalog matches that.") == "Nothing in the catalog matches that."
    assert lead_sentence(c, 0, None, None) == "I found nothing for that."


# --- the snapshot -------------------------------------------------------------------------
def test_a_turn_is_explained_against_the_request_it_was_started_with(tmp_path):
    writer = ScriptedWriter(lambda prompt: "A great pick.")
    a = toy_assistant(tmp_path, writer=writer)
    s = a.new_session()
    turn = s.start("red tshirts for women")
    s.reset()  # the session changes before the turn is finished
    s.feedback("s1", liked=False)
    reply = turn.finish()
    assert reply.products and all(p.product.base_colour == "Red" for p in reply.products)
    assert all("I am looking for: red tshirts for women" in p for p in writer.prompts if "Product:" in p)
    for shown in reply.products:  # facts appended from the snapshot's asked colour, not the reset session
        assert shown.explanation.mentions_request and "red" in shown.explanation.text.lower()


def test_matches_are_computed_once_and_reused_by_the_llm_explanations(tmp_path):
    numbers = iter(range(1000))  # no two cards alike: a repeated sentence is rewritten from the facts
    a = toy_assistant(tmp_path, writer=ScriptedWriter(lambda prompt: f"A great pick, number {next(numbers)}."))
    turn = a.new_session().start("red watches")
    before = [s.explanation.matches for s in turn.preview()]
    reply = turn.finish()
    assert [s.explanation.matches for s in reply.products] == before
    assert all(s.explanation.source == "llm" for s in reply.products)


# --- one handle for every turn, never raising --------------------------------------------
def test_every_kind_of_turn_gets_the_same_handle(tmp_path):
    from adapters.generation.factory import make_generator

    a = toy_assistant(tmp_path, writer=ScriptedWriter(intro="Nice."), generator=make_generator(progress=False))
    s = a.new_session()
    search = s.start("red tshirts for women")
    assert search.kind == "search" and search.preview() and "".join(search.stream()).startswith("Here is one match: red T-shirt for women.")
    assert search.finish().products
    question = s.start("shoes")  # a clarifying question comes beside the best guesses
    assert question.kind == "search" and question.preview() and question.finish().clarification
    error = s.start("x" * 5000)
    assert error.kind == "message" and list(error.stream()) == [] and error.finish().error
    picture = s.visualise("s1", mode="try_on", photo=shirt_image("Blue"))
    assert picture.kind == "picture" and picture.preview() == []
    made = picture.finish()
    assert made.picture is not None and made.picture.image is not None and made.picture.backend == "composite"
    bad = s.visualise("no-such-id", mode="try_on")
    assert bad.finish().error and len(s.turns) == 5


def test_a_model_failure_keeps_the_facts_and_says_so(tmp_path):
    class Broken(ScriptedWriter):
        def generate_batch(self, *args, **kwargs):
            raise RuntimeError("out of memory")

    a = toy_assistant(tmp_path, writer=Broken())
    turn = a.new_session().start("red watches")
    reply = turn.finish()
    assert reply.failure == "out of memory" and reply.products
    assert all(s.explanation.source == "facts" for s in reply.products)
    assert turn.finish() is reply  # idempotent


# --- replaceable stages -------------------------------------------------------------------
def test_a_stage_can_be_replaced_without_touching_the_others(tmp_path):
    plain = toy_assistant(tmp_path)
    seen = []

    def always_blue(shop, state, incoming) -> Understanding:
        seen.append(incoming.text)
        understood = understand(shop, state, incoming)
        c = understood.interp.constraints
        blue = replace(c, filter=replace(c.filter, colours=("Blue",)))
        return Understanding(replace(understood.interp, constraints=blue), replace(understood.state, constraints=blue))

    parts = Parts(plain.shop.parts.search, plain.explainer)
    a = build_assistant(parts, AssistantConfig(), replace(DEFAULT_STAGES, understand=always_blue))
    reply = a.new_session().send("red watches")
    assert seen == ["red watches"] and reply.products
    assert all(s.product.base_colour == "Blue" and s.product.article_type == "Watches" for s in reply.products)


# --- what the page edits goes through the session -------------------------------------------
def test_remove_filter_and_words_through_the_session(tmp_path):
    s = toy_assistant(tmp_path).new_session()
    s.send("red watches for women under 60")
    s.remove_filter("max_price").finish()
    assert s.constraints.filter.max_price is None and s.constraints.filter.colours == ("Red",)
    s.remove_filter("colours").finish()
    assert s.constraints.filter.colours == () and s.constraints.filter.article_types == ("Watches",)
    with pytest.raises(ValueError, match="unknown filter field"):
        s.edit_filter(flavour=("sweet",))
    assert s.constraints.filter.article_types == ("Watches",)  # unchanged by the refused edit


def test_the_photo_is_shown_as_part_of_the_request_and_can_be_removed(tmp_path):
    from ui.chat import active_filters
    s = toy_assistant(tmp_path).new_session()
    s.send("like this but in red", image=shirt_image("Blue"))
    assert active_filters(s)[0] == ("reference", "your photo")  # the sidebar had said "No filters yet"
    s.remove_filter("reference").finish()
    assert s.reference is None and ("reference", "your photo") not in active_filters(s)
    assert s.constraints.filter.colours == ("Red",)  # the words of the request stay


def test_the_session_state_is_only_changed_by_turns_and_methods(tmp_path):
    s = toy_assistant(tmp_path).new_session()
    s.send("red watches")
    with pytest.raises(AttributeError):
        s.constraints = Constraints()  # a read-only view
    s.feedback("s1", liked=True)
    s.feedback("s1", liked=False)
    assert s.liked == {"s1": False}
