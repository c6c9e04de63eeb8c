"""Composed edits that need to know what the photo shows: "same thing, deeper colour" (the
photo's colour, moved), "something to wear with this" (what completes the photo's item),
"close to this but less pricey" (below what such items cost), and a type change that keeps
the look ("the same look as boots": the photo's colour, preferred). The photo is read from
its nearest catalog neighbours and, with a tuned tower, the tower's own attribute heads."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from retrieval.concepts import CATEGORY_KINDS, COMPLEMENTS
from retrieval.filters import ProductFilter
from retrieval.query_parser import ParsedQuery
from retrieval.vocabulary import Vocabulary


ATTR = {"article_types": "article_type", "genders": "gender", "colours": "base_colour", "usages": "usage"}
PLAUSIBLE = 0.1  # a colour the tower gives this much probability is one the photo may be (0.59 colour accuracy)
SAME_PICTURE = 0.98  # a neighbour this similar is the photo's own catalog product (its price is "this" one's)
# whom the photo's item is for is imposed on a request only this sure (dev photos: the tower's heads are right
# 72% of the time below 0.6, 85% at 0.6-0.8, 94% and more above)
SURE_GENDER = 0.6


@dataclass(frozen=True)
class PhotoLook:
    """The photo's likeliest colour, type and gender, and what its neighbours of that type cost
    (or its own price, when it is a catalog product's picture)."""

    colour: str | None = None
    article_type: str | None = None
    gender: str | None = None
    price: float | None = None
    colours: tuple[str, ...] = ()  # every colour the photo plausibly is (the likeliest first)
    usage: str | None = None
    gender_share: float = 0.0  # how sure ``gender`` is: the heads' probability, or the neighbours' vote share

    def for_whom(self, genders: tuple[str, ...]) -> tuple[str, ...]:
        """Whom the photo's item is for, with Unisex beside it, as far as the catalog's ``genders`` go."""
        return tuple(g for g in (self.gender, "Unisex") if g and g in genders)


@dataclass(frozen=True)
class Edits:
    """What a message asks of the photo: move its colour, complete it, undercut its price."""

    relative_colour: str | None = None
    complement: bool = False
    relative_price: str | None = None
    price_factor: float | None = None  # "half the price": that fraction of the photo's price
    usages: tuple[str, ...] = ()  # "a dressier take on this", "something for the office like this"
    reference_types: tuple[str, ...] = ()  # how the words name the photo's kind ("these jeans")

    @classmethod
    def of(cls, parsed: ParsedQuery | None) -> "Edits":
        if parsed is None:
            return cls()
        return cls(parsed.relative_colour, parsed.complement, parsed.relative_price, parsed.price_factor,
                   parsed.soft.usages, parsed.reference_types)

    def any(self) -> bool:
        return bool(self.relative_colour or self.complement or self.relative_price or self.usages)


def needs_photo(stated: ProductFilter, edits: Edits) -> bool:
    return edits.any() or bool(stated.article_types and not stated.colours) or bool(stated.usages) \
        or bool(edits.reference_types and not stated.genders) \
        or (not stated.colours and (stated.max_price, stated.min_price) != (None, None))  # "same vibe, under 80"


def kinds_for_usage(neighbours: list, share: float = 0.2, most: int = 3) -> tuple[str, ...]:
    """The kinds of item that look most like the photo among products of another usage
    (``neighbours``: the photo's nearest ones under that usage): a polo's formal take is a shirt,
    a tote's party take a clutch. Each kept kind has at least ``share`` of the similarity vote."""
    tally: dict[str, float] = defaultdict(float)
    for m in neighbours:
        if m.product.article_type:
            tally[m.product.article_type] += max(m.similarity, 1e-3)
    total = sum(tally.values())
    ranked = sorted(tally.items(), key=lambda kv: -kv[1])
    return tuple(kind for kind, w in ranked[:most] if w >= share * total)


def kinds_named_for(usages: tuple[str, ...], kind: str | None, article_types: tuple[str, ...]) -> tuple[str, ...]:
    """The catalog's kinds named after a usage, of the photo's kind of thing: the formal take of
    casual shoes is Formal Shoes, their sporty take Sports Shoes (whatever usage the catalog
    files single products under)."""
    if not kind:
        return ()
    head = kind.split()[-1]
    return tuple(t for t in article_types if t != kind and len(t.split()) > 1 and t.split()[-1] == head
                 and t.split()[0] in usages)


def recognised(nearest: list) -> list:
    """The catalog products whose own picture this is (their stored pictures at least
    ``SAME_PICTURE`` similar: the same file, or one resized; several when the shop uses one
    shot for several products), nearest first; ``nearest``: StoredMatch list."""
    return [m for m in nearest if m.similarity >= SAME_PICTURE]


def record_reading(products: list, reading: dict | None) -> dict[str, dict[str, float]]:
    """What a recognised picture shows: its products' records, certain (attribute -> {value: 1.0})
    where they agree; whom a Unisex product is for, and what they disagree on, is still read off
    the picture (``reading``: the tower's)."""
    out = {}
    for a in ("article_type", "base_colour", "gender", "usage"):
        values = {getattr(p, a) for p in products}
        if len(values) == 1 and None not in values and values != {"Unisex"}:
            out[a] = {values.pop(): 1.0}
        elif reading and reading.get(a):
            out[a] = reading[a]
    return out


def photo_look(neighbours: list, reading: dict | None) -> PhotoLook:
    """``neighbours``: StoredMatch list, nearest first; ``reading``: attribute -> {value: p}."""
    def shares(attr: str) -> dict[str, float]:
        if reading and reading.get(attr):
            return reading[attr]
        tally: dict[str, float] = defaultdict(float)
        for m in neighbours:
            if (v := getattr(m.product, attr)) is not None:
                tally[v] += max(m.similarity, 1e-3)
        total = sum(tally.values())
        return {v: w / total for v, w in tally.items()}

    def vote(attr: str) -> str | None:
        got = shares(attr)
        return max(got.items(), key=lambda kv: kv[1])[0] if got else None

    kind = vote("article_type")
    prices = [m.product.price for m in neighbours if m.product.price is not None and m.product.article_type == kind]
    if neighbours and neighbours[0].similarity >= SAME_PICTURE and neighbours[0].product.price is not None:
        prices = [neighbours[0].product.price]  # a catalog product's own picture: "cheaper than this" is its price
    colour = vote("base_colour")
    read = sorted((reading or {}).get("base_colour", {}).items(), key=lambda kv: -kv[1])
    plausible = tuple(dict.fromkeys([c for c in (colour,) if c] + [c for c, p in read[:3] if p >= PLAUSIBLE]))
    gender = vote("gender")
    return PhotoLook(colour, kind, gender, statistics.median(prices) if prices else None, plausible,
                     vote("usage"), shares("gender").get(gender, 0.0) if gender else 0.0)


def edit_from_photo(edits: Edits, base: ProductFilter, look: PhotoLook, vocab: Vocabulary,
                    shift: Callable[[tuple[str, ...], str], tuple[str, ...]] | None) -> tuple[ProductFilter, ProductFilter]:
    """The filter (and soft preferences) of a composed request once the photo is read;
    ``base``: what the words state."""
    filt, soft, stated = base, ProductFilter(), base
    if edits.relative_colour and not stated.colours and look.colour and shift is not None:
        plausible = look.colours or (look.colour,)
        moved = shift(plausible, edits.relative_colour)  # never one it may already be...
        if not moved:  # ...unless nothing else lies that way: darker than navy-or-black is black
            moved = tuple(dict.fromkeys(c for colour in plausible for c in shift((colour,), edits.relative_colour)
                                        if c != colour))
        if moved:
            filt = replace(filt, colours=moved)
    if edits.complement:
        kind = look.article_type  # the words may name it ("these shoes"): then the photo's reading among those
        if edits.reference_types and kind not in edits.reference_types:
            kind = edits.reference_types[0]
        goes_with = tuple(t for t in COMPLEMENTS.get(kind, ()) if t in vocab.article_types and t != kind)
        if goes_with and not stated.article_types:
            filt = replace(filt, article_types=goes_with)
        elif set(goes_with) & set(stated.article_types):  # "shoes to go with this dress": the heels and flats
            filt = replace(filt, article_types=tuple(t for t in stated.article_types if t in goes_with))
        if not filt.genders and look.gender:
            filt = replace(filt, genders=look.for_whom(vocab.genders))
        if look.usage not in (None, "Casual") and stated.article_types and not stated.usages:
            soft = ProductFilter(usages=(look.usage,))  # "a shirt to wear with this tie": formal shirts first
    if edits.reference_types and not filt.genders and look.gender not in (None, "Unisex") \
            and look.gender_share >= SURE_GENDER:  # "these sandals in black": whom they are for, said clearly
        filt = replace(filt, genders=look.for_whom(vocab.genders))
    if 1 < len(stated.article_types) and look.article_type in stated.article_types and not edits.complement \
            and (set(stated.article_types) == set(edits.reference_types) or len(stated.article_types) < CATEGORY_KINDS):
        # the photo's kind among the words' when they name it ("the same kind of bag") or name one thing the
        # catalog files two ways ("a similar vest": innerwear or waistcoat) comes first; "a bag under 50" may be
        # any bag; and the words' other kinds follow ("similar kurta, max 60": kurtis when no kurta costs that)
        soft = ProductFilter(article_types=(look.article_type,))
    stated_bound = filt.max_price if edits.relative_price == "lower" else filt.min_price
    if edits.relative_price and look.price is not None and stated_bound is None:  # a bound said in words stays
        filt = moved_price(filt, look.price, edits.relative_price, edits.price_factor)
    if stated.article_types and not stated.colours and not edits.relative_colour and look.colour:
        soft = soft.merged(ProductFilter(colours=(look.colour,)))  # the same look as another kind of item
    return filt, soft


def onward_colours(moved: tuple[str, ...], look: PhotoLook, direction: str,
                   shift: Callable[[tuple[str, ...], str], tuple[str, ...]]) -> tuple[str, ...]:
    """What fills a short page of colours moved off the photo: the colours one step further
    that way ("darker than grey" is charcoal, then black), never one the photo may be."""
    away = set(look.colours or (look.colour,)) | set(moved)
    return tuple(c for c in shift(moved, direction) if c not in away)


def onward_steps(first: tuple[str, ...], direction: str, away: tuple[str, ...], reader,
                 most: int = 3, origin: tuple[str, ...] = ()) -> tuple[tuple[str, ...], ...]:
    """``first``, then the colours one step, then two, further ``direction``, one at a time, the
    nearest ``first`` first (lighter than brown is mushroom brown, then khaki, nude, then beige,
    cream, off white, white), never one of ``away``; then any other colour that way of ``origin``
    (the colours moved from). ``reader``: a RequestReader (its colours)."""
    if not first:
        return ((),)
    steps, seen, last = [first], set(away) | set(first), first
    for _ in range(most - 1):
        nxt = tuple(c for c in reader.shift_colours(last, direction) if c not in seen)
        if not nxt:
            break
        steps += [(c,) for c in reader.colours.nearest_first(nxt, first)]
        seen |= set(nxt)
        last = nxt
    if rest := tuple(c for c in reader.colours.beyond(origin, direction) if c not in seen):
        steps.append(rest)  # then any colour that way ("these in a lighter colour", navy: grey, tan, red...)
    return tuple(steps)


def onward_of_move(base: ProductFilter, direction: str, reader) -> tuple[tuple[str, ...], ...] | None:
    """A colour move already made (a conversation's "a darker shade" of green: olive; "a lighter one,
    this is gloomy" said of a product shown): the colours that fill a short page further that way."""
    away = base.colours + base.exclude_colours
    first = tuple(c for c in reader.shift_colours(base.colours, direction) if c not in away)
    return onward_steps(first, direction, away, reader, origin=base.colours) if first else None


def moved_price(filt: ProductFilter, anchor: float, direction: str, factor: float | None = None) -> ProductFilter:
    """``filt`` with its bound that way moved: "cheaper": just below ``anchor``; "more
    expensive": just above it; with a ``factor`` ("half the price", "twice the price"): that
    multiple of it. The other bound is dropped if the two would cross."""
    if direction == "lower":
        bound = anchor * factor if factor else anchor - 0.01
        filt = replace(filt, max_price=round(max(bound, 0.0), 2))
        if filt.min_price is not None and filt.min_price > filt.max_price:
            filt = replace(filt, min_price=None)
    elif direction == "higher":
        filt = replace(filt, min_price=round(anchor * factor if factor else anchor + 0.01, 2))
        if filt.max_price is not None and filt.max_price < filt.min_price:
            filt = replace(filt, max_price=None)
    return filt


def read_hypotheses(neighbours: list, filt: ProductFilter, k: int, fields: tuple[str, ...], reading: dict | None,
                    cfg) -> list[tuple[dict[str, str], int]]:
    """What the picture probably shows, as (attributes, result slots) pairs, most likely first.

    Votes of the image's neighbours (weighted by similarity) over ``fields`` that the
    shopper left open (article type and gender for composed queries, article type and
    colour for a picture alone), mixed with the tuned tower's own readings of those fields
    (``cfg.head_weight``; ``cfg``: a SearchConfig). Every reading with at least
    ``min_hypothesis_share`` of the vote gets a share of the ``k`` slots, so one wrong guess
    does not empty the page.
    """
    open_fields = [f for f in fields if not getattr(filt, f)]
    if not open_fields or not neighbours:
        return []
    votes: dict[tuple, float] = defaultdict(float)
    for m in neighbours:
        key = tuple(getattr(m.product, ATTR[f]) for f in open_fields)
        if all(key):
            votes[key] += max(m.similarity, 1e-3)
    if not votes:
        return []
    votes = mix_readings(votes, [reading.get(ATTR[f]) for f in open_fields] if reading else [], cfg.head_weight)
    total = sum(votes.values())
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    kept = [(key, w / total) for key, w in ranked if w / total >= cfg.min_hypothesis_share]
    kept = kept[: cfg.max_hypotheses] or [(ranked[0][0], ranked[0][1] / total)]
    kept = [(key, sh ** cfg.hypothesis_power) for key, sh in kept]
    share_sum = sum(sh for _, sh in kept)
    slots = [max(1, int(k * sh / share_sum)) for _, sh in kept]
    slots[0] += max(0, k - sum(slots))
    return [(dict(zip(open_fields, key)), n) for (key, _), n in zip(kept, slots)]


def mix_readings(votes: dict[tuple, float], per_field: list[dict[str, float] | None], weight: float) -> dict:
    """(1 - weight) * the neighbours' vote share + weight * the heads' joint probability,
    over the voted keys and the heads' likeliest combinations (fields read independently)."""
    if not weight or not per_field or not all(per_field):
        return votes
    total = sum(votes.values())
    tops = [[v for v, _ in sorted(d.items(), key=lambda kv: -kv[1])[:3]] for d in per_field]
    keys = set(votes) | set(itertools.product(*tops))
    joint = {key: math.prod(d.get(v, 0.0) for d, v in zip(per_field, key)) for key in keys}
    z = sum(joint.values()) or 1.0
    return {key: (1 - weight) * votes.get(key, 0.0) / total + weight * joint[key] / z for key in keys}


def interleave(taken, slots: list[int]) -> list[tuple]:
    """Each reading's items (best score first) merged so that any prefix of the page holds the
    readings in proportion to their slots: the top of a long candidate list looks like the top
    of a short one, and the likeliest reading leads. Items past the readings (relaxed) come last."""
    queues: dict[int, list] = defaultdict(list)
    for item in sorted(taken, key=lambda t: -t[1]):
        queues[item[2]].append(item)
    total = sum(slots) or 1
    out, given = [], defaultdict(int)
    while any(queues[r] for r in range(len(slots))):
        n = len(out) + 1
        rank = max((r for r in range(len(slots)) if queues[r]), key=lambda r: (slots[r] * n / total - given[r], -r))
        out.append(queues[rank].pop(0))
        given[rank] += 1
    return out + [t for r in sorted(queues) if r >= len(slots) for t in queues[r]]
