"""Soft preferences and orderings over candidates that already meet the filters: what was
inferred (an occasion's usage, an age's gender) moves products up, never out; "the cheapest"
orders the best candidates by price, "around 40" by how near 40 they are. Pure over hits."""

from __future__ import annotations

from dataclasses import fields

from retrieval.filters import FACET_FIELDS, ProductFilter
from retrieval.hits import Hit

SOFT_WEIGHT = 0.15  # score units a product gains when it has every preferred facet
SORT_POOL = 30  # "the cheapest": the price order of the best this many candidates


def soft_facets(soft: ProductFilter) -> dict[str, tuple[str, ...]]:
    """Product attribute -> preferred values, for the facets ``soft`` names."""
    return {FACET_FIELDS[f.name]: getattr(soft, f.name) for f in fields(soft)
            if f.name in FACET_FIELDS and getattr(soft, f.name)}


def prefer(hits: list[Hit], soft: ProductFilter | None, sort: str | None, k: int, weight: float = SOFT_WEIGHT,
           around: float | None = None, leading: frozenset[str] = frozenset()) -> list:
    """``hits`` re-ordered by the soft preferences, then,
    with ``sort="price"``, the best ``SORT_POOL`` of them cheapest first (``sort="near"``: the
    nearest ``around`` first); the first ``k``. A price order keeps tiers: what meets the filter before
    what only came near it (``close:``), and nearest ``around``, the ``leading`` ids (what met every
    preference: "around 25" for a night out is a clutch first, not a laptop bag) before the rest."""
    wanted = soft_facets(soft) if soft is not None else {}
    if wanted:
        def boosted(h) -> float:
            met = sum(getattr(h.product, attr) in values for attr, values in wanted.items())
            return h.score + weight * met / len(wanted)

        hits = sorted(hits, key=boosted, reverse=True)
    target = 0.0 if sort == "price" else around if sort == "near" else None  # prices are never negative
    if target is not None:
        pool = hits[:SORT_POOL]
        lead = leading if sort == "near" else frozenset()  # "the cheapest": of all that meet the filter

        def tier(h) -> tuple:
            near = any(s.startswith("close:") for s in h.signals)
            return h.product.id not in lead, near, h.product.price is None, abs((h.product.price or 0.0) - target)
        hits = sorted(pool, key=tier) + hits[SORT_POOL:]
    return hits[:k]
