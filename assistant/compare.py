"""Comparison facts: what sets each shown product apart from the others of the same reply.

Computed from the records of the products shown together (never from the model): the
price rank ("the cheapest of the five"), what only one of them has ("the only one for
formal wear", "the only white one"), how far under the shopper's budget ("$7.01 under
your 30"), which is closest to the photo, and what changed since the last turn ("for boys
now, not men"). They go to the model beside the matched facts, into the sentences written
from facts, and into the check: a sentence that says "the cheapest" of a product that is
not is a false claim like any other. Pure functions, no model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from retrieval.wording import is_pair, singular
from retrieval.catalog import Product
from retrieval.filters import ProductFilter
from retrieval.query_parser import normalise

logger = logging.getLogger(__name__)

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth", 9: "ninth"}
_ONLY_ATTRS = (("usage", "for {v} wear"), ("article_type", "{v}"), ("base_colour", "{v}"), ("gender", "for {v}"))
_GENERIC = frozenset({"women", "womens", "mens", "unisex", "boys", "girls", "kids", "with", "pack", "pair",
                      "shoes", "shoe", "casual", "formal", "sports"})
_CHEAPEST = re.compile(r"\b(?:(second|third|fourth|fifth|sixth|seventh|eighth|ninth)\s+)?(?:cheapest|least expensive|"
                       r"lowest[- ]priced|lowest price|most affordable|least pricey|least costly|most budget[- ]friendly)\b", re.I)
_OF_N = re.compile(r"\bof the (two|three|four|five|six|seven|eight|nine|ten)\b", re.I)
_PRICIEST = re.compile(r"\b(?:most expensive|priciest|highest[- ]priced|highest price|dearest)\b", re.I)
_ONLY = re.compile(r"\b(?:the only|only one)\b", re.I)
_MARGIN = re.compile(r"[$£€₹]\s?(\d+(?:\.\d{1,2})?)\s*(?:under|below|over|above|less|more)\s+(?:your|the)\b", re.I)
_CLOSEST = re.compile(r"\b(?:closest|nearest|most similar|most like)\b", re.I)


@dataclass(frozen=True)
class Contrast:
    """One fact that distinguishes a product from the others shown with it."""

    kind: Literal["price_rank", "budget", "only", "photo", "changed", "same"]
    text: str  # shopper-facing: "the cheapest of the five"
    rank: int = 0  # price_rank: 1 = cheapest; 0 otherwise


def contrasts_for(products: Sequence[Product], asked: ProductFilter | None = None, *,
                  image_ref: str | None = None, scores: Sequence[float] | None = None,
                  previous: ProductFilter | None = None) -> list[tuple[Contrast, ...]]:
    """For each product of one reply (in the order shown), what sets it apart from the others."""
    out: list[list[Contrast]] = [[] for _ in products]
    if image_ref and image_ref.startswith("your") and scores is not None and len(products) > 1:
        best = max(range(len(products)), key=lambda i: scores[i])
        out[best].append(Contrast("photo", f"the closest to {image_ref}"))
    for i, c in _price_ranks(products).items():
        out[i].append(c)
    for i, p in enumerate(products):
        out[i] += _only(i, products)
        out[i] += _budget(p, asked)
    for i, p in enumerate(products):  # the catalog lists some products twice: say so rather than repeat
        twin = next((j for j in range(i) if _same_listing(products[j], p)), None)
        if twin is not None:
            out[i].append(Contrast("same", f"the same title and price as #{twin + 1}"))
    changed = what_changed(previous, asked)
    for i in range(len(products)):
        out[i] += [Contrast("changed", t) for t in changed]
    return [tuple(c) for c in out]


def _same_listing(a: Product, b: Product) -> bool:
    return normalise(a.title) == normalise(b.title) and a.price == b.price and a.base_colour == b.base_colour


def _price_ranks(products: Sequence[Product]) -> dict[int, Contrast]:
    priced = [(p.price, i) for i, p in enumerate(products) if p.price is not None]
    n = len(priced)
    if n < 2:
        return {}
    priced.sort()
    prices = [x for x, _ in priced]
    group = f"the {NUMBER_WORDS.get(n, str(n))}"
    out = {}
    for rank, (price, i) in enumerate(priced, 1):
        if prices.count(price) > 1:
            continue  # tied: no rank to state
        if rank == 1:
            out[i] = Contrast("price_rank", f"the cheapest of {group}", 1)
        elif rank == n:
            out[i] = Contrast("price_rank", f"the most expensive of {group}", n)
        elif rank in ORDINALS:
            out[i] = Contrast("price_rank", f"the {ORDINALS[rank]} cheapest of {group}", rank)
    return out


def _budget(p: Product, asked: ProductFilter | None) -> list[Contrast]:
    if asked is None or p.price is None:
        return []
    if asked.max_price is not None and p.price <= asked.max_price:
        return [Contrast("budget", f"${asked.max_price - p.price:.2f} under your {asked.max_price:g}")]
    if asked.min_price is not None and p.price >= asked.min_price:
        return [Contrast("budget", f"${p.price - asked.min_price:.2f} over your {asked.min_price:g} minimum")]
    return []


def _only(i: int, products: Sequence[Product]) -> list[Contrast]:
    """What only product ``i`` has among those shown (the others all differ from it)."""
    if len(products) < 2:
        return []
    out = []
    for attr, template in _ONLY_ATTRS:
        value = getattr(products[i], attr)
        if not value or any(getattr(q, attr) == value for j, q in enumerate(products) if j != i):
            continue
        if any(not getattr(q, attr) for q in products):
            continue  # a product with no record of it might share it
        words = value.lower()
        if attr == "article_type":
            out.append(Contrast("only", f"the only {_singular_type(words)} among them"))
        elif attr == "base_colour":
            out.append(Contrast("only", f"the only {words} one"))
        else:
            out.append(Contrast("only", "the only one " + template.format(v=words)))
        break  # one is enough to say
    brand = _brand(products[i])
    if not out and brand and all(_brand(q) != brand for j, q in enumerate(products) if j != i):
        out.append(Contrast("only", f"the only one from {brand}"))
    if not out:
        word = _own_title_word(i, products)
        if word:
            out.append(Contrast("only", f"the only one with '{word}' in its name"))
    return out


def _brand(p: Product) -> str:
    """The title's first word when it looks like a brand (as the model is shown it, explain.prompt_name)."""
    first = (p.title or "").split(" ", 1)[0]
    return first if re.fullmatch(r"[A-Za-z][A-Za-z&'-]{1,19}", first) else ""


def _own_title_word(i: int, products: Sequence[Product]) -> str | None:
    """A word of product ``i``'s title (not its brand, colour, type or who) no other title shown has."""
    def words(p: Product) -> list[str]:
        record = normalise(" ".join(x or "" for x in (p.base_colour, p.article_type, p.gender, p.usage)))
        title = p.title.split()[1:]  # the first word is the brand
        return [w for w in title if re.fullmatch(r"[A-Za-z][A-Za-z-]{3,}", w) and normalise(w) not in record.split()
                and normalise(w) not in _GENERIC]

    others = {normalise(w) for j, q in enumerate(products) if j != i for w in q.title.split()}
    return next((w for w in words(products[i]) if normalise(w) not in others), None)


def _singular_type(words: str) -> str:
    return f"pair of {words}" if is_pair(words) else singular(words)


def what_changed(previous: ProductFilter | None, now: ProductFilter | None) -> list[str]:
    """What the shopper changed since the last turn, in words ("for boys now, not men")."""
    if previous is None or now is None:
        return []
    out = []
    if now.genders and previous.genders and set(now.genders) != set(previous.genders):
        out.append(f"for {'/'.join(g.lower() for g in now.genders)} now, not {'/'.join(g.lower() for g in previous.genders)}")
    if now.colours and previous.colours and set(now.colours) != set(previous.colours):
        out.append(f"{'/'.join(c.lower() for c in now.colours)} now, not {'/'.join(c.lower() for c in previous.colours)}")
    if now.max_price is not None and now.max_price != previous.max_price:
        out.append(f"under {now.max_price:g} now" + (f", not {previous.max_price:g}" if previous.max_price else ""))
    return out


# --- comparison claims in written text --------------------------------------------------
def comparison_claims(text: str, contrasts: Sequence[Contrast]) -> list[tuple[str, bool]]:
    """Each comparison the text makes ("the cheapest", "the only one", "closest to"), and
    whether this product's contrasts back it."""
    ranks = {c.rank for c in contrasts if c.kind == "price_rank"}
    n_top = max((c.rank for c in contrasts if c.kind == "price_rank" and "most expensive" in c.text), default=None)
    out = []
    for m in _CHEAPEST.finditer(text):
        want = 1 if m.group(1) is None else 1 + list(ORDINALS.values()).index(m.group(1).lower()) + 1
        out.append((m.group(0), want in ranks))
    for m in _PRICIEST.finditer(text):
        out.append((m.group(0), n_top is not None))
    for m in _ONLY.finditer(text):
        out.append((m.group(0), any(c.kind == "only" for c in contrasts)))
    for m in _CLOSEST.finditer(text):
        out.append((m.group(0), any(c.kind == "photo" for c in contrasts)))
    groups = {m.group(1).lower() for c in contrasts for m in _OF_N.finditer(c.text)}
    for m in _OF_N.finditer(text):  # "the cheapest of the three" when five are shown
        out.append((m.group(0), not groups or m.group(1).lower() in groups))
    margins = [float(_MARGIN.match(c.text).group(1)) for c in contrasts if c.kind == "budget" and _MARGIN.match(c.text)]
    for m in _MARGIN.finditer(text):  # "$13.00 under your 60": the margin must be this product's
        out.append((m.group(0), any(abs(float(m.group(1)) - x) <= 0.5 for x in margins)))
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
