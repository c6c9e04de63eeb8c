"""The reply's first sentence, built from the request in force (never from the LLM), so
it says exactly what was searched: "Here are 5 red tshirts for men under $30."."""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.dialogue import Constraints
from retrieval.filters import ProductFilter
from retrieval.wording import either, plural, shop_spelling, singular


def lead_sentence(c: Constraints, n: int, image_ref: str | None, relaxed: str | None,
                  notes: tuple[str, ...] = (), close: int = 0) -> str:
    """``n`` products found for ``c`` (looking like ``image_ref``), after what was loosened;
    ``close`` of them only come near it (a neighbouring colour, unisex)."""
    if n == 0:
        return shop_spelling(relaxed or "I found nothing for that.")
    exact = n - close
    one = exact == 1 if close else n == 1  # "Here is 1 maroon top", "Nothing is exactly maroon tops"
    bits = [_what(c, one=one, spoken=True)] + _qualifiers(c, spoken=True)
    if image_ref:
        bits.append(_photo_edit(c, image_ref, one))
    if close and exact:
        out = f"Here {'are' if exact > 1 else 'is'} {exact} {' '.join(bits)}, and {close} close to it."
    elif close:
        out = f"Nothing is exactly {' '.join(bits)}; here are the {n} closest." if n > 1 else \
            f"Nothing is exactly {' '.join(bits)}; here is the closest."
    else:
        out = f"Here are {n} {' '.join(bits)}." if n > 1 else f"Here is one match: {' '.join(bits)}."
    if notes:
        out = f"({'; '.join(notes).capitalize()}.) {out}"
    if relaxed:
        out = f"{relaxed} {out}"
    return shop_spelling(out)  # "Here are 5 green T-shirts for boys."


def words_shown(words: tuple[str, ...], titles: Iterable[str]) -> tuple[str, ...]:
    """The shopper's own words that the products shown bear out: a word of their titles begins
    as it does ("checked": "Check", "floral": "Floral"). The others ("quality matters", "bigger")
    still steer the search, but the sentence saying what was found does not call the products so."""
    tokens = {t for title in titles for t in re.findall(r"[a-z]+", title.lower())}
    return tuple(w for w in words if any(t.startswith(w[:4]) or w.startswith(t) and len(t) >= 4 for t in tokens))


_MOVES = {"darker": "darker", "lighter": "lighter", "brighter": "brighter", "muted": "quieter", "pastel": "pastel",
          "deeper": "deeper"}


def _photo_edit(c: Constraints, image_ref: str, one: bool) -> str:
    """How the products relate to the photo, with what the words asked of it ("that look like
    your photo, in a darker colour"; "to go with your photo")."""
    e = c.edits
    if e.complement:
        return f"to go with {image_ref}"
    edits = []
    if e.relative_colour in _MOVES and not c.filter.colours:
        edits.append(f"in a {_MOVES[e.relative_colour]} colour")
    if e.usages and not c.filter.usages:
        edits.append("for " + " or ".join(u.lower() for u in e.usages) + " wear")
    if e.relative_price and c.filter.min_price is None and c.filter.max_price is None:
        edits.append("for less" if e.relative_price == "lower" else "a step up in price")
    return f"that look{'s' if one else ''} like {image_ref}" + (", " + " and ".join(edits) if edits else "")


def request_phrase(c: Constraints, image_ref: str | None = None) -> str:
    """The request in force, in words ("red tshirts for men under $30"), for the LLM's prompts:
    never the last message itself ("skip", "cheaper" say nothing on their own)."""
    bits = [_what(c)] + _qualifiers(c)
    if image_ref:
        bits.append(f"like {image_ref}")
    return " ".join(bits)


def _what(c: Constraints, one: bool = False, spoken: bool = False) -> str:
    """"red tshirts", or for ``one`` product "red T-shirt" (a pair word stays: "jeans").
    ``spoken`` (the lead the shopper reads): every kind in the plural ("laptop bags") and lists
    as "red, maroon or burgundy"; without it, the wording the LLM's prompts were trained on."""
    f = c.filter
    if spoken:  # the shopper's own words as modifiers, where English puts them: "blue checked shirts"
        kinds = [singular(t) if one else plural(t) for t in f.article_types]
        what = " ".join([*c.words, either(kinds) or ("product" if one else "products")])
        return f"{either([x.lower() for x in f.colours])} {what}".strip()
    what = " or ".join(singular(t) if one else t.lower() for t in f.article_types)
    colour = " or ".join(x.lower() for x in f.colours)
    return f"{colour} {what or ('product' if one else 'products')}".strip()


def _qualifiers(c: Constraints, spoken: bool = False) -> list[str]:
    f = c.filter
    bits = []
    if c.words and not spoken:  # the lead says them before the kind (``_what``)
        bits.append("(" + " ".join(c.words) + ")")
    if f.genders:
        bits.append("for " + " or ".join(g.lower() for g in f.genders))
    if f.usages:
        bits.append("for " + " or ".join(u.lower() for u in f.usages) + " wear")
    if f.exclude_colours:
        bits.append("not " + " or ".join(x.lower() for x in f.exclude_colours))
    if f.exclude_usages and spoken:  # "nothing formal" (the prompts were trained without it)
        bits.append("not for " + " or ".join(u.lower() for u in f.exclude_usages) + " wear")
    if f.min_price is not None or f.max_price is not None:
        bits.append(price_bound(f))
    return bits


def price_bound(f: ProductFilter, unit: str = "$") -> str:
    """The price bound of ``f`` in words ("under $30", "between $15 and $25", "over $40")."""
    if f.min_price is not None and f.max_price is not None:
        return f"between {unit}{f.min_price:g} and {unit}{f.max_price:g}"
    return f"under {unit}{f.max_price:g}" if f.max_price is not None else f"over {unit}{f.min_price:g}"
