"""Turn policies, pure over products and vectors: when to ask instead of guessing, how to
relax a request nothing matches, and how feedback and history re-rank candidates."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from assistant.dialogue import Clarification
from retrieval.catalog import Product
from retrieval.filters import FILTER_FIELD_OF, ProductFilter
from retrieval.hits import Hit
from retrieval.vocabulary import CHILDREN

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyConfig:
    clarify_min_options: int = 3  # distinct values, each with at least clarify_min_share of the candidates
    clarify_min_share: float = 0.05
    clarify_max_top_share: float = 0.65  # ask only when no single value dominates
    clarify_max_options: int = 4
    like_weight: float = 0.1
    dislike_weight: float = 0.15
    history_weight: float = 0.08

    def __post_init__(self) -> None:
        if self.clarify_min_options < 2 or not 0 < self.clarify_min_share < 1 or not 0 < self.clarify_max_top_share <= 1:
            raise ValueError("PolicyConfig: clarify_min_options >= 2 and shares in (0, 1]")
        if min(self.like_weight, self.dislike_weight, self.history_weight) < 0:
            raise ValueError("PolicyConfig: weights must be >= 0")


_QUESTIONS = {
    "article_type": "What kind of item are you after: {options}?",
    "gender": "Who is it for: {options}?",
    "usage": "What is it for: {options}?",
}


def clarification(filt: ProductFilter, counts_by_facet: dict[str, dict[str, int]],
                  cfg: PolicyConfig = PolicyConfig()) -> Clarification | None:
    """A question when the products that fit split over very different kinds, else None.

    ``counts_by_facet``: facet -> value -> number of fitting products (the catalog's facet
    counts under the filter, or the candidates' when the request has descriptive words).
    Only facets the shopper left open (or named several values of, like "shoes") are asked
    about; the options are those values, most common first.
    """
    for facet in ("article_type", "gender", "usage"):
        if len(getattr(filt, FILTER_FIELD_OF[facet])) == 1:
            continue
        counts = Counter(counts_by_facet.get(facet, {}))
        total = sum(counts.values())
        if total < cfg.clarify_min_options:
            continue
        shares = [(v, n / total) for v, n in counts.most_common()]
        big = [v for v, s in shares if s >= cfg.clarify_min_share]
        if len(big) >= cfg.clarify_min_options and shares[0][1] <= cfg.clarify_max_top_share:
            options = big[: cfg.clarify_max_options]
            text = _QUESTIONS[facet].format(options=_join_or(options)) + " (or say 'skip')"
            return Clarification(text, facet, options)
    return None


def relaxations(filt: ProductFilter, keep: tuple[str, ...] = ()) -> list[tuple[ProductFilter, str]]:
    """Looser versions of ``filt``, nearest first, each with how it was loosened; those that
    loosen a field in ``keep`` (what the shopper just said: "red", after "party dresses") last,
    and for a child (Boys, Girls) those that drop whom it is for after every other: a grown-up's
    dress in berry is no dress for a six-year-old, hers in another colour is."""
    steps = list(_relaxations(filt))
    child = for_a_child(filt)

    def order(looser: ProductFilter) -> tuple[bool, bool]:
        return child and looser.genders != filt.genders, any(getattr(looser, f) != getattr(filt, f) for f in keep)

    return sorted(steps, key=lambda step: order(step[0]))  # stable: nearest first within each


def _relaxations(filt: ProductFilter) -> Iterable[tuple[ProductFilter, str]]:
    priced = filt.max_price is not None or filt.min_price is not None
    if filt.max_price is not None:
        for factor in (1.5, 2.0, 3.0):
            bound = float(math.ceil(filt.max_price * factor / 10) * 10)
            yield replace(filt, max_price=bound), f"under {bound:g}"
    if priced and filt.colours and filt.usages:  # a colour and a budget outlast an occasion ("purple", "cheaper"
        yield replace(filt, usages=()), "for any occasion"  # after "a dress for a party")
    if priced and filt.colours:  # the budget said outright outlasts a colour nothing has in it
        yield replace(filt, colours=()), "in other colours"
    if priced:
        yield replace(filt, min_price=None, max_price=None), "at any price"
    if filt.colours:
        yield replace(filt, colours=(), min_price=None, max_price=None), \
            "in other colours at any price" if priced else "in other colours"
    at_any_price = " at any price" if priced else ""
    if filt.usages:
        if filt.colours and not priced:  # the colour kept, for a shopper who just asked it (with a budget: above)
            yield replace(filt, usages=()), "for any occasion"
        yield replace(filt, usages=(), colours=(), min_price=None, max_price=None), \
            "for any occasion" + (", in any colour" if filt.colours else "") + at_any_price
    if filt.genders and filt.article_types:  # every step says what it drops
        yield (ProductFilter(article_types=filt.article_types, colours=filt.colours, exclude_colours=filt.exclude_colours,
                             min_price=filt.min_price, max_price=filt.max_price), "for anyone")
        if filt.colours or priced:
            yield ProductFilter(article_types=filt.article_types), \
                "of that type" + (", any colour" if filt.colours else "") + ", for anyone" + at_any_price


def for_a_child(filt: ProductFilter) -> bool:
    """Every gender the filter names is a child's (Boys, Girls)."""
    return bool(filt.genders) and set(filt.genders) <= CHILDREN


_CHILDS_TITLE = re.compile(r"\b(?:kids?|boys?|girls?|children|junior)\b", re.I)  # "Warner Bros Kids Unisex Sandals"


def theirs_first(asked: ProductFilter, hits: list[Hit]) -> list[Hit]:
    """For a child (every gender asked is Boys or Girls), what is for that child (filed so, or
    unisex with a child in its title) comes before what a step loosened to a grown-up's unisex or
    to anyone: a girls' casual dress before a grown-up's party dress."""
    if not for_a_child(asked):
        return hits

    def grown_ups(h: Hit) -> bool:
        p = h.product
        return p.gender not in asked.genders and not (p.gender == "Unisex" and _CHILDS_TITLE.search(p.title))
    return sorted(hits, key=grown_ups)  # stable: nearest first within each


def rerank(candidates: list[tuple[Product, float]], vectors: dict[str, np.ndarray],
           liked: list[np.ndarray], disliked: list[np.ndarray], history: list[np.ndarray],
           cfg: PolicyConfig = PolicyConfig()) -> list[tuple[Product, float, tuple[str, ...]]]:
    """Candidates re-scored: + similarity to liked items and to the shopper's history,
    - similarity to disliked items. Each signal is taken relative to the candidates' mean and
    spread (so it moves items against each other, by at most its weight in score units,
    however crowded the embedding space). Products nobody interacted with are
    scored on content alone, like every other product (no popularity term: cold start costs nothing)."""
    if not candidates:
        return []
    dim = next(iter(vectors.values())).shape[0] if vectors else 0
    mat = np.stack([vectors.get(p.id, np.zeros(dim, np.float32)) for p, _ in candidates]) if dim else None
    scores = np.array([s for _, s in candidates], dtype=np.float64)
    reasons: list[list[str]] = [[] for _ in candidates]
    for refs, weight, reduce, why in ((liked, cfg.like_weight, np.mean, "like items you liked"),
                                      (disliked, -cfg.dislike_weight, np.max, None),
                                      (history, cfg.history_weight, np.mean, "close to what you viewed before")):
        if not refs or mat is None:
            continue
        sims = reduce(mat @ np.stack(refs).T, axis=1)
        spread = sims.max() - sims.min()
        rel = (sims - sims.mean()) / spread if spread > 1e-6 else np.zeros_like(sims)
        scores += weight * rel
        if why:
            for i in np.flatnonzero(rel > 0.25):
                reasons[i].append(why)
    order = np.argsort(-scores, kind="stable")
    return [(candidates[i][0], float(scores[i]), tuple(reasons[i])) for i in order]


def _join_or(options: list[str]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
