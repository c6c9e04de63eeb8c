"""Comparison facts: what sets each product apart from the others shown with it.

Computed from the records of the products shown together (never from a model): the price
rank ("the cheapest of the five"), what only one of them has ("the only one for formal
wear", "the only white one"), how far under the shopper's budget ("$7.01 under your 30"),
which is closest to the photo, and what changed since the last turn ("for boys now, not
men"). The assistant hands them to its model and checks its sentences against them
(``assistant.compare``); the stage-2 training targets are written from the same facts
(``finetune.data_mllm``), so what the model learns is what it is later shown. Pure
functions, no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from retrieval.catalog import Product
from retrieval.filters import ProductFilter
from retrieval.query_parser import normalise
from retrieval.wording import is_pair, singular

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth", 9: "ninth"}
_ONLY_ATTRS = (("usage", "for {v} wear"), ("article_type", "{v}"), ("base_colour", "{v}"), ("gender", "for {v}"))
_GENERIC = frozenset({"women", "womens", "mens", "unisex", "boys", "girls", "kids", "with", "pack", "pair",
                      "shoes", "shoe", "casual", "formal", "sports"})


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


def _same_to_a_reader(attr: str, a: str | None, b: str) -> bool:
    """Whether a shopper reads ``a`` as ``b``: the same value, or for colours a name sharing a word
    (a Grey Melange trunk is a grey one too: "the only grey one" beside it would read false)."""
    return a == b or (attr == "base_colour" and a is not None and bool(set(a.lower().split()) & set(b.lower().split())))


def _only(i: int, products: Sequence[Product]) -> list[Contrast]:
    """What only product ``i`` has among those shown (the others all differ from it)."""
    if len(products) < 2:
        return []
    out = []
    for attr, template in _ONLY_ATTRS:
        value = getattr(products[i], attr)
        if not value or any(_same_to_a_reader(attr, getattr(q, attr), value) for j, q in enumerate(products) if j != i):
            continue
        if any(not getattr(q, attr) for q in products):
            continue  # a product with no record of it might share it
        words = value.lower()
        if attr == "article_type":
            out.append(Contrast("only", f"the only {singular_type(words)} among them"))
        elif attr == "base_colour":
            out.append(Contrast("only", f"the only {words} one"))
        else:
            out.append(Contrast("only", "the only one " + template.format(v=words)))
        break  # one is enough to say
    brand = brand_of(products[i])
    if not out and brand and all(brand_of(q) != brand for j, q in enumerate(products) if j != i):
        out.append(Contrast("only", f"the only one from {brand}"))
    if not out:
        word = _own_title_word(i, products)
        if word:
            out.append(Contrast("only", f"the only one with '{word}' in its name"))
    return out


def brand_of(p: Product) -> str:
    """The title's first word when it looks like a brand (as the model is shown it, explain.prompt_name)."""
    first = (p.title or "").split(" ", 1)[0]
    return first if re.fullmatch(r"[A-Za-z][A-Za-z&'-]{1,19}", first) else ""


def product_name(p: Product) -> str:
    """How a product is named to a model: its brand and catalog attributes, never its free-text
    title ("Nike Red Tshirts for Men")."""
    kind = " ".join(x for x in (p.base_colour, p.article_type) if x) or "product"
    who = f" for {p.gender}" if p.gender else ""
    return f"{brand_of(p)} {kind}{who}".strip()


def _own_title_word(i: int, products: Sequence[Product]) -> str | None:
    """A word of product ``i``'s title (not its brand, colour, type or who) no other title shown has."""
    def words(p: Product) -> list[str]:
        record = normalise(" ".join(x or "" for x in (p.base_colour, p.article_type, p.gender, p.usage)))
        title = p.title.split()[1:]  # the first word is the brand
        return [w for w in title if re.fullmatch(r"[A-Za-z][A-Za-z-]{3,}", w) and normalise(w) not in record.split()
                and normalise(w) not in _GENERIC]

    others = {normalise(w) for j, q in enumerate(products) if j != i for w in q.title.split()}
    return next((w for w in words(products[i]) if normalise(w) not in others), None)


def singular_type(words: str) -> str:
    """One of a (lower-case) article type: "watches" -> "watch", "casual shoes" -> "pair of casual shoes"."""
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
