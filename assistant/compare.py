"""Comparison claims: checking what a written sentence says of the products shown together.

The facts themselves (price rank, what only one has, budget margin, closest to the photo,
what changed) are computed in :mod:`retrieval.contrasts` and re-exported here. This module
reads sentences: a sentence that says "the cheapest" of a product that is not is a false
claim like any other; it also finds cards that repeat one another. Pure functions, no model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from retrieval.catalog import Product
from retrieval.contrasts import ORDINALS, Contrast, contrasts_for, what_changed
from retrieval.query_parser import normalise

__all__ = ["Contrast", "comparison_claims", "contrasts_for", "repeated_cards", "sentence_key", "states_contrast",
           "unique_values", "unsaid", "what_changed"]

logger = logging.getLogger(__name__)

_CHEAPEST = re.compile(r"\b(?:(second|third|fourth|fifth|sixth|seventh|eighth|ninth)\s+)?(?:cheapest|least expensive|"
                       r"lowest[- ]priced|lowest price|most affordable|least pricey|least costly|most budget[- ]friendly)\b", re.I)
_OF_N = re.compile(r"\bof the (two|three|four|five|six|seven|eight|nine|ten)\b", re.I)
_PRICIEST = re.compile(r"\b(?:most expensive|priciest|highest[- ]priced|highest price|dearest)\b", re.I)
_ONLY = re.compile(r"\b(?:the only|only one)\b", re.I)
_MARGIN = re.compile(r"[$£€₹]\s?(\d+(?:\.\d{1,2})?)\s*(?:under|below|over|above|less|more)\s+(?:your|the)\b", re.I)
_CLOSEST = re.compile(r"\b(?:closest|nearest|most similar|most like)\b", re.I)
_SAME = re.compile(r"\bthe same (?:title and )?price as #(\d+)", re.I)
# Rankings no record holds: popularity, sales, ratings. Said of one product, they are false claims.
_UNBACKED = re.compile(r"\b(?:most|best|top|highest)[- ](?:popular|selling|sold|rated|reviewed|loved|liked)\b|"
                       r"\bbest[- ]?sell(?:ers?|ing)\b|\b(?:popular|trending|bestselling)\b", re.I)


# --- comparison claims in written text --------------------------------------------------
def comparison_claims(text: str, contrasts: Sequence[Contrast]) -> list[tuple[str, bool]]:
    """Each comparison the text makes ("the cheapest", "the only one", "closest to", "the same
    price as #2"), and whether this product's contrasts back it; a ranking no record holds
    ("the most popular", "best-selling") is never backed."""
    return [(phrase, ok) for _, phrase, ok in _claims(text, contrasts)]


def _same_only(after: str, contrast: str) -> bool:
    """Is what follows "the only" in the text ("pair of formal shoes", "one from Nike") what the
    contrast says is the only one ("the only pair of casual shoes among them")? Every word the
    text names up to a break must be one of the contrast's (plural s aside)."""
    said = re.split(r"\b(?:among|in|and|at|but)\b|[,;:]|\.(?:\s|$)", after, maxsplit=1)[0]
    stem = lambda w: w[:-1] if w.endswith("s") and len(w) > 3 else w  # noqa: E731
    words = {stem(w) for w in normalise(said).split()} - {"one"}  # "the only one": any of them
    return words <= {stem(w) for w in normalise(contrast).split()}


def unsaid(text: str, contrasts: Sequence[Contrast]) -> tuple[Contrast, ...]:
    """The contrasts ``text`` does not (truthfully) state already."""
    said = {kind for kind, _, ok in _claims(text, contrasts) if ok}
    return tuple(c for c in contrasts if c.kind not in said)


def _claims(text: str, contrasts: Sequence[Contrast]) -> list[tuple[str, str, bool]]:
    """(the contrast kind a phrase states, the phrase, backed?) for each comparison in ``text``."""
    ranks = {c.rank for c in contrasts if c.kind == "price_rank"}
    n_top = max((c.rank for c in contrasts if c.kind == "price_rank" and "most expensive" in c.text), default=None)
    out = []
    for m in _CHEAPEST.finditer(text):
        want = 1 if m.group(1) is None else 1 + list(ORDINALS.values()).index(m.group(1).lower()) + 1
        out.append(("price_rank", m.group(0), want in ranks))
    for m in _PRICIEST.finditer(text):
        out.append(("price_rank", m.group(0), n_top is not None))
    for m in _ONLY.finditer(text):
        out.append(("only", m.group(0), any(c.kind == "only" and _same_only(text[m.end():], c.text) for c in contrasts)))
    for m in _CLOSEST.finditer(text):
        out.append(("photo", m.group(0), any(c.kind == "photo" for c in contrasts)))
    for m in _SAME.finditer(text):
        out.append(("same", m.group(0), any(c.kind == "same" and c.text.endswith(f"#{m.group(1)}") for c in contrasts)))
    for m in _UNBACKED.finditer(text):
        out.append(("unbacked", m.group(0), False))
    groups = {m.group(1).lower() for c in contrasts for m in _OF_N.finditer(c.text)}
    for m in _OF_N.finditer(text):  # "the cheapest of the three" when five are shown
        out.append(("group", m.group(0), not groups or m.group(1).lower() in groups))
    margins = [float(_MARGIN.match(c.text).group(1)) for c in contrasts if c.kind == "budget" and _MARGIN.match(c.text)]
    for m in _MARGIN.finditer(text):  # "$13.00 under your 60": the margin must be this product's
        out.append(("budget", m.group(0), any(abs(float(m.group(1)) - x) <= 0.5 for x in margins)))
    return out


def states_contrast(text: str, contrasts: Sequence[Contrast]) -> bool:
    """Does ``text`` say (truthfully) one of the product's distinguishing contrasts?"""
    claims = comparison_claims(text, contrasts)
    if any(ok for _, ok in claims):
        return True
    low = text.lower()
    return any(c.kind == "budget" and c.text.split()[0] in low for c in contrasts)


def unique_values(i: int, products: Sequence[Product]) -> set[str]:
    """Catalog words of product ``i`` that no other product shown with it has (colour, type, usage, gender)."""
    out = set()
    for attr in ("base_colour", "article_type", "usage", "gender"):
        value = getattr(products[i], attr)
        if value and all(getattr(q, attr) != value for j, q in enumerate(products) if j != i):
            out.add(normalise(value))
    return out


# --- sameness across cards ----------------------------------------------------------------
def sentence_key(sentence: str) -> str:
    """What makes two sentences "the same" for a reader: case, punctuation and spacing aside."""
    return re.sub(r"[^a-z0-9$.]+", " ", sentence.lower()).strip(" .")


def repeated_cards(texts: Sequence[str]) -> list[int]:
    """Indices of cards that repeat a sentence of an earlier card of the same reply."""
    seen: set[str] = set()
    out = []
    for i, text in enumerate(texts):
        keys = {sentence_key(s) for s in re.split(r"(?<=[.!?])\s+", text) if sentence_key(s)}
        if keys & seen:
            out.append(i)
        seen |= keys
    return out
