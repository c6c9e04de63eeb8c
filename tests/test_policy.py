"""The turn policies in assistant/policy.py, pure over products and vectors: the clarifying
question, the relaxations of a request nothing matches, and the feedback/history re-rank."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.policy import PolicyConfig, clarification, relaxations, rerank
from retrieval.catalog import Product
from retrieval.filters import ProductFilter, matches

SHOES = ("Casual Shoes", "Sports Shoes", "Formal Shoes")


# --- clarification ---------------------------------------------------------------------
def test_asks_when_the_request_splits_over_several_kinds():
    counts = {"article_type": {"Casual Shoes": 40, "Sports Shoes": 35, "Formal Shoes": 25}}
    q = clarification(ProductFilter(article_types=SHOES), counts)
    assert q is not None and q.facet == "article_type"
    assert q.options == ["Casual Shoes", "Sports Shoes", "Formal Shoes"]
    assert q.question == "What kind of item are you after: Casual Shoes, Sports Shoes or Formal Shoes? (or say 'skip')"


def test_options_are_most_common_first_capped_and_without_rare_values():
    counts = {"article_type": {"Watches": 5, "Tshirts": 30, "Jeans": 20, "Belts": 25, "Caps": 15, "Socks": 1}}
    q = clarification(ProductFilter(), counts)  # Socks: 1 of 96, under the 5% share
    assert q.options == ["Tshirts", "Belts", "Jeans", "Caps"]  # clarify_max_options = 4
    wide = clarification(ProductFilter(), counts, PolicyConfig(clarify_max_options=10))
    assert wide.options == ["Tshirts", "Belts", "Jeans", "Caps", "Watches"]


def test_does_not_ask_when_one_value_dominates():
    dominated = {"article_type": {"Casual Shoes": 70, "Sports Shoes": 15, "Formal Shoes": 15}}  # 70% > 65%
    assert clarification(ProductFilter(article_types=SHOES), dominated) is None
    just_under = {"article_type": {"Casual Shoes": 65, "Sports Shoes": 20, "Formal Shoes": 15}}
    assert clarification(ProductFilter(article_types=SHOES), just_under) is not None


def test_does_not_ask_with_too_few_distinct_values():
    two = {"article_type": {"Casual Shoes": 50, "Sports Shoes": 50}}
    assert clarification(ProductFilter(), two) is None
    nothing = {"article_type": {"Casual Shoes": 0, "Sports Shoes": 0, "Formal Shoes": 0}}
    assert clarification(ProductFilter(), nothing) is None  # no products at all: no question


def test_does_not_ask_about_a_facet_the_shopper_already_set():
    counts = {"article_type": {"Casual Shoes": 40, "Sports Shoes": 35, "Formal Shoes": 25},
              "gender": {"Men": 40, "Women": 35, "Unisex": 25}}
    q = clarification(ProductFilter(article_types=("Casual Shoes",)), counts)
    assert q is not None and q.facet == "gender"  # the type is set: the next open facet is asked
    assert q.question.startswith("Who is it for: Men, Women or Unisex?")
    assert clarification(ProductFilter(article_types=("Casual Shoes",), genders=("Men",)), counts) is None


def test_facets_are_asked_in_order_type_then_gender_then_usage():
    split = {"Casual": 40, "Sports": 35, "Formal": 25}
    counts = {"usage": split, "gender": {"Men": 40, "Women": 35, "Unisex": 25},
              "article_type": {"Casual Shoes": 40, "Sports Shoes": 35, "Formal Shoes": 25}}
    assert clarification(ProductFilter(), counts).facet == "article_type"
    assert clarification(ProductFilter(), {"usage": split}).facet == "usage"


# --- relaxations ------------------------------------------------------------------------
def _catalog() -> list[Product]:
    out = []
    for i, (colour, kind, gender, usage, price) in enumerate([
        ("Red", "Dresses", "Women", "Party", 18.0), ("Red", "Dresses", "Women", "Party", 25.0), ("Red", "Dresses", "Women", "Casual", 45.0),
        ("Red", "Dresses", "Women", "Party", 65.0), ("Red", "Dresses", "Women", "Party", 120.0),
        ("Blue", "Dresses", "Women", "Party", 15.0), ("Red", "Dresses", "Men", "Party", 10.0),
        ("Black", "Dresses", "Men", "Casual", 12.0), ("Red", "Tshirts", "Women", "Party", 5.0),
    ]):
        out.append(Product(f"p{i}", f"t{i}", gender=gender, article_type=kind, base_colour=colour, usage=usage,
                           price=price))
    return out


def test_relaxations_come_nearest_first():
    filt = ProductFilter(colours=("Red",), article_types=("Dresses",), genders=("Women",), usages=("Party",),
                         max_price=20)
    steps = list(relaxations(filt))
    assert [how for _, how in steps] == ["under 30", "under 40", "under 60", "for any occasion", "in other colours",
                                         "at any price", "in other colours at any price",
                                         "for any occasion, in any colour at any price", "for anyone",
                                         "of that type, any colour, for anyone at any price"]
    assert [f.max_price for f, _ in steps[:3]] == [30, 40, 60]  # the price bound grows before anything else goes
    # then the occasion goes while the colour and the budget stay (session 18), then the budget said outright
    # stays while the colour goes; a step that drops it says so
    assert steps[3][0] == ProductFilter(article_types=("Dresses",), genders=("Women",), colours=("Red",), max_price=20)
    assert steps[4][0] == ProductFilter(article_types=("Dresses",), genders=("Women",), usages=("Party",), max_price=20)
    assert steps[6][0] == ProductFilter(article_types=("Dresses",), genders=("Women",), usages=("Party",))
    assert steps[-1][0] == ProductFilter(article_types=("Dresses",))


def test_each_relaxation_is_looser_than_the_request():
    filt = ProductFilter(colours=("Red",), article_types=("Dresses",), genders=("Women",), usages=("Party",),
                         max_price=20)
    catalog = _catalog()
    wanted = {p.id for p in catalog if matches(filt, p)}
    assert wanted == {"p0"}
    counts = []
    for looser, how in relaxations(filt):
        found = {p.id for p in catalog if matches(looser, p)}
        assert wanted <= found and looser != filt, how
        # only the occasion dropped with the red kept: no other red party-free dress under 20 here
        assert found != wanted or how == "for any occasion", how
        counts.append(len(found))
    assert counts[:3] == sorted(counts[:3])  # the price steps widen one after another


def test_what_the_shopper_just_said_is_loosened_last():
    filt = ProductFilter(colours=("Red",), article_types=("Dresses",), genders=("Women",), usages=("Party",))
    steps = [how for _, how in relaxations(filt, keep=("colours",))]
    assert steps[0] == "for any occasion"  # "party dress", then "red": red dresses for any occasion first
    assert steps.index("in other colours") > steps.index("for anyone")
    assert [how for _, how in relaxations(filt)][0] == "in other colours"  # nothing said last: nearest first


def test_a_minimum_price_is_dropped_and_a_filter_with_nothing_to_loosen_has_no_relaxation():
    assert [(f, how) for f, how in relaxations(ProductFilter(article_types=("Watches",), min_price=50))] == [
        (ProductFilter(article_types=("Watches",)), "at any price")]
    assert list(relaxations(ProductFilter(article_types=("Watches",)))) == []
    assert [how for _, how in relaxations(ProductFilter(colours=("Red",)))] == ["in other colours"]


# --- rerank -----------------------------------------------------------------------------
def _items(n: int = 4, scores=None):
    products = [Product(f"p{i}", f"Product {i}") for i in range(n)]
    scores = scores or [1.0 - 0.01 * i for i in range(n)]  # retrieval order: p0 first
    basis = np.eye(n, dtype=np.float32)
    vectors = {p.id: basis[i] for i, p in enumerate(products)}
    return list(zip(products, scores)), vectors


def _ids(ranked) -> list[str]:
    return [p.id for p, _, _ in ranked]


def test_no_signal_keeps_the_retrieval_order_and_scores():
    cands, vecs = _items()
    ranked = rerank(cands, vecs, [], [], [])
    assert _ids(ranked) == ["p0", "p1", "p2", "p3"]
    assert [s for _, s, _ in ranked] == [s for _, s in cands] and all(r == () for _, _, r in ranked)
    assert rerank([], vecs, [vecs["p0"]], [], []) == []


def test_a_liked_item_moves_up_with_its_reason():
    cands, vecs = _items()
    ranked = rerank(cands, vecs, liked=[vecs["p3"]], disliked=[], history=[])
    assert _ids(ranked)[0] == "p3"
    assert ranked[0][2] == ("like items you liked",) and all(r == () for _, _, r in ranked[1:])
    assert _ids(ranked)[1:] == ["p0", "p1", "p2"]  # the others keep their order


def test_a_disliked_item_moves_down():
    cands, vecs = _items()
    ranked = rerank(cands, vecs, liked=[], disliked=[vecs["p0"]], history=[])
    assert _ids(ranked) == ["p1", "p2", "p3", "p0"]
    assert all(r == () for _, _, r in ranked)  # a dislike gives no reason to show anything


def test_history_moves_viewed_like_items_up():
    cands, vecs = _items()
    ranked = rerank(cands, vecs, liked=[], disliked=[], history=[vecs["p2"]])
    assert _ids(ranked)[0] == "p2" and ranked[0][2] == ("close to what you viewed before",)


def test_a_signal_moves_items_by_at_most_its_weight():
    cands, vecs = _items(scores=[1.0, 0.5, 0.2, 0.0])  # far apart: a like cannot overturn these gaps
    cfg = PolicyConfig(like_weight=0.1)
    ranked = rerank(cands, vecs, liked=[vecs["p3"]], disliked=[], history=[], cfg=cfg)
    assert _ids(ranked) == ["p0", "p1", "p2", "p3"]
    assert all(abs(s - dict((p.id, s0) for p, s0 in cands)[p.id]) <= 0.1 + 1e-9 for p, s, _ in ranked)
    assert dict((p.id, s) for p, s, _ in ranked)["p3"] > 0.0


def test_ties_keep_their_retrieval_order():
    cands, vecs = _items(n=5, scores=[0.5] * 5)
    assert _ids(rerank(cands, vecs, [], [], [])) == ["p0", "p1", "p2", "p3", "p4"]
    # p1 and p3 are liked alike: equal scores, so they stay in retrieval order (stable sort)
    liked = [vecs["p1"] + vecs["p3"]]
    ranked = rerank(cands, vecs, liked=liked, disliked=[], history=[])
    assert _ids(ranked) == ["p1", "p3", "p0", "p2", "p4"]
    reverse = list(reversed(cands))
    assert _ids(rerank(reverse, vecs, liked=liked, disliked=[], history=[])) == ["p3", "p1", "p4", "p2", "p0"]


def test_products_without_a_vector_are_kept_and_scored_on_content_alone():
    cands, vecs = _items()
    del vecs["p1"]  # a cold-start item nobody has a vector for
    ranked = rerank(cands, vecs, liked=[vecs["p3"]], disliked=[], history=[])
    assert sorted(_ids(ranked)) == ["p0", "p1", "p2", "p3"] and _ids(ranked)[0] == "p3"


@pytest.mark.parametrize("bad", [dict(clarify_min_options=1), dict(clarify_min_share=0), dict(like_weight=-1)])
def test_bad_policy_config_is_refused(bad):
    with pytest.raises(ValueError):
        PolicyConfig(**bad)
