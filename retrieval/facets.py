"""Facet counts of the products matching a filter: the catalog's own values, for clarifying
questions; and what such products typically cost, for "cheaper"."""

from __future__ import annotations

import numpy as np

from retrieval.store import ProductStore


def facet_counts(store: ProductStore, where: dict | None, attrs: tuple[str, ...], limit: int = 5000) -> dict[str, dict[str, int]]:
    """How many stored products matching ``where`` carry each value of each attribute in
    ``attrs`` (e.g. ``article_type``): the catalog's own facets, for clarifying questions.
    From the filtered index when the store has one (every match counted, in milliseconds at a
    million products); else from the first ``limit`` matches Chroma returns."""
    index = store.index("text")
    mask = index.mask(where) if index is not None else None
    if mask is not None:
        return index.facet_counts(mask, attrs)
    res = store.text.get(where=where, include=["metadatas"], limit=limit)
    out: dict[str, dict[str, int]] = {a: {} for a in attrs}
    for meta in res["metadatas"]:
        for a in attrs:
            v = meta.get(a)
            if v:
                out[a][v] = out[a].get(v, 0) + 1
    return out


def _prices(store: ProductStore, where: dict | None, limit: int) -> np.ndarray:
    """The prices of the stored products matching ``where``, sorted: from the filtered index when
    there is one, else the first ``limit`` matches."""
    index = store.index("text")
    mask = index.mask(where) if index is not None else None
    if mask is not None:
        prices = index.cols.numbers["price"][mask]
    else:
        res = store.text.get(where=where, include=["metadatas"], limit=limit)
        prices = np.array([m["price"] for m in res["metadatas"] if isinstance(m.get("price"), (int, float))], float)
    return np.sort(prices[~np.isnan(prices)])


def median_price(store: ProductStore, where: dict | None, limit: int = 5000) -> float | None:
    """The median price of the stored products matching ``where`` (what such items typically cost)."""
    prices = _prices(store, where, limit)
    return float(np.median(prices)) if len(prices) else None


def nth_lowest_price(store: ProductStore, where: dict | None, n: int, limit: int = 5000) -> float | None:
    """The ``n``-th lowest price among the products matching ``where`` (the dearest, when fewer match):
    a cap at or above it leaves a page of ``n``."""
    prices = _prices(store, where, limit)
    return float(prices[min(n, len(prices)) - 1]) if len(prices) else None
