"""What a shopper's message changes in the conversation: pure functions over typed state.

The shopper's stated constraints accumulate across turns and can be changed:
"black sneakers" -> "cheaper" -> "in white" -> "for women". The rules, which the scripted
evaluation checks turn by turn:

* A facet the message names (colour, article type, gender, usage, price bound) replaces
  that facet; facets it does not name are kept.
* Naming a *different* article type (not one of the types already in force: "shoes" then
  "sports shoes" narrows) starts a new subject: gender is kept (who the
  shopper buys for), colour, usage, price and the descriptive words are cleared unless
  the same message restates them.
* "cheaper" sets the maximum price just below the median price of the products shown last,
  or below what such products typically cost when that is lower (or below the product referred
  to: "cheaper than the second one"); "more expensive" sets the minimum just above the higher.
* "any colour" / "any price" / "any style" remove that facet; "not black" excludes a colour.
* "the second one", "#2", "number 2" refer to the last shown list; "more like that" makes
  the referred product (or the top of the last list) the visual reference.
* An uploaded image stays the reference until replaced or dropped ("forget the photo"), or
  until a message names a new subject without pointing at it ("red tshirts for men"; but
  "the same look as boots", "a belt to go with it" keep it).
* A message that asks for something new ("something for my dad", "I need a watch") starts
  afresh: only what it states is in force ("something cheaper" is a refinement, not a new request).
* A new photo is the reference for its own message's "this" and starts a new subject (who
  it is for is kept); naming another type "instead" / "what about X" keeps the rest.
* "darker", "paler", "pastel" move from the colours in force (or what most of the last list
  was) to the catalog colours that way; with a photo in force the search moves the photo's.
* "start over" clears everything.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal

from retrieval.catalog import Product
from retrieval.colours import carries_name
from retrieval.concepts import GROWN_UP
from retrieval.filters import ProductFilter, open_facets
from retrieval.photo_edits import Edits, moved_price
from retrieval.query_parser import ParsedQuery, QueryParser, normalise
from retrieval.vocabulary import FILLER_WORDS

logger = logging.getLogger(__name__)

_RESET = re.compile(r"\b(?:start over|start again|reset|new search|clear (?:all|everything|the filters|filters))\b", re.I)
_SKIP = re.compile(r"^\s*(?:skip|any|anything|either|whatever|no preference|not sure|i don'?t know|dont know|"
                   r"doesn'?t matter|all of them|show me (?:all|everything|anything))\b", re.I)
_CHEAPER = re.compile(r"\b(?:cheaper|less expensive|lower price|more affordable|too expensive|too pricey|on a budget)\b", re.I)
_PRICIER = re.compile(r"\b(?:more expensive|pricier|higher end|more premium|fancier)\b", re.I)
_ANY_COLOUR = re.compile(r"\b(?:any colou?r|all colou?rs|colou?r doesn'?t matter|whatever colou?r|other colou?rs)\b", re.I)
_ANY_PRICE = re.compile(r"\b(?:any price|no budget|price doesn'?t matter|forget the (?:price|budget)|ignore the (?:price|budget))\b", re.I)
_ANY_USAGE = re.compile(r"\b(?:any style|any occasion|style doesn'?t matter)\b", re.I)
_DROP_IMAGE = re.compile(r"\b(?:forget|ignore|without|drop|remove|clear)\s+(?:the\s+|my\s+)?(?:photo|picture|image|pic)\b", re.I)
_INSTEAD = re.compile(r"^\s*(?:(?:hmm+|um+|uh+|ok(?:ay)?|well|oh)\W+)?or\b|\b(?:instead|rather|what about|how about|maybe|actually|or maybe|switch to|change (?:it )?to)\b",
                      re.I)
# "tees are fine too", "a kurta would do as well": another kind acceptable besides the ones in force, the rest
# of the request kept ("also want briefs" asks for briefs now; "shorts, blue too" keeps the colour)
_ALSO = re.compile(r"\b(?:fine|ok|okay|good|alright|work|works|do)\s+(?:too|as well)\b|\balso (?:fine|ok|okay|good)\b"
                   r"|\b(?:show|see|add|include)\b.*\b(?:too|as well)\W*$", re.I)  # "show jeggings too"
# "show me flat ones", "a leather one", "clutches in that colour", "a jersey to match": the message is about
# the items in force
_ANAPHOR = re.compile(r"\bones\b|\b(?:a|an|the)\s+\w+\s+one\b|\b(?:that|this|the same|same|those|these) (?:colou?rs?|shades?|tones?|hues?)\b"
                      r"|\bto match\b|\bmatching\b|\bto go with (?:them|it|these|those|that|this)\b",
                      re.I)
_NEW_REQUEST = re.compile(r"\b(?:something|anything|a gift|a present|gift for|present for|looking for an?|need an?|want an?)\b", re.I)
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
             "fifth": 4, "5th": 4, "last": -1}
_REFERENCE = re.compile(
    r"\b(?:the\s+)?(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)\s+(?:one|item|product|pick|option|result)?\b"
    r"|#\s?([1-9])\b|\b(?:number|item|no\.?|option)\s?([1-9])\b", re.I)
# "more like" points at a product only before a reference or at the end ("more like this", "show me more
# like"); "hmm darker, more like a wine shade" says what the colour is like, not which product
_MORE_LIKE = re.compile(r"\b(?:more like(?= (?:this|that|it|these|those|them|the|#|no|number|\d)\b|\W*$)|similar to|"
                        r"something like|others? like|like (?:that|this|it|those|these))\b", re.I)
# Words by which a message goes on about a photo shown earlier ("the same look as boots", "something to go with
# this"); a message naming a new subject without any of them leaves the photo behind ("red tshirts for men").
_POINTS_AT_PHOTO = re.compile(r"\b(?:this|that|these|those|it|its|same|similar|like|look|looks|style|match|matching|"
                              r"(?:go|goes|wear|pair)\s+with|version|photo|picture|pic|image)\b", re.I)

Command = Literal["search", "reset", "skip", "empty"]

# Text that addresses the model instead of the shop: removed before the message is read, and a
# message that carried any cannot start a tool (image generation) that turn.
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*(?:previous|prior|above|earlier|"
    r"preceding|system|original)?\s*(?:instructions?|prompts?|rules|messages|directions|guidelines)\b"
    r"|\bsystem\s+(?:prompt|message|instructions?)\b|\bdeveloper\s+mode\b|\bjail\s?break\w*|\bDAN\b"
    r"|\byou\s+are\s+(?:now|no\s+longer)\b[^.!?\n]*|\b(?:act|behave)\s+as\b[^.!?\n]*|\bpretend\s+(?:to\s+be|you)\b[^.!?\n]*"
    r"|\b(?:call|run|use|invoke|trigger|execute)\s+(?:the\s+|your\s+)?[\w-]+\s+(?:tool|function|command)s?\b[^.!?\n]*"
    r"|<\|?[\w/ ]{1,20}\|?>\s*(?:system|assistant|user)?\b|\[/?(?:INST|SYS)\]|(?:^|(?<=[.;!?\n]))\s*(?:system|assistant)\s*:[^.!?\n]*"
    r"|\b(?:reveal|print|show|repeat|output|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+(?:hidden\s+|secret\s+|initial\s+)?"
    r"(?:instructions|prompt|rules|configuration|text\s+above|words\s+above)\b"
    r"|\bnew\s+instructions?\b[^.!?\n]*|\bfrom\s+now\s+on\b[^.!?\n]*"
    r"|\b(?:and\s+)?(?:say|answer|respond|reply|output)(?:\s+only)?(?:\s+with)?\s+['\"]?[\w-]+['\"]?", re.I)


def strip_injection(text: str) -> tuple[str, bool]:
    """``text`` without the sentences (or lines) that address the model instead of the shop
    ("ignore previous instructions", "reveal your system prompt", chat-template tokens,
    "call the X tool"), and whether there were any. A sentence that carries an instruction
    is untrusted as a whole, so nothing it asks for survives."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    kept = [p for p in parts if not _INJECTION.search(p)]
    cleaned = re.sub(r"\s+", " ", " ".join(kept)).strip(" ,.;:")
    return (cleaned, len(kept) < len([p for p in parts if p.strip()]) or bool(_INJECTION.search(cleaned)))


@dataclass(frozen=True)
class Constraints:
    """The shopper's request so far: catalog filters plus the words that describe the item."""

    filter: ProductFilter = ProductFilter()
    words: tuple[str, ...] = ()
    soft: ProductFilter = ProductFilter()  # inferred preferences (an occasion's usage): ranking boosts, not filters
    sort: str | None = None  # "price": the cheapest first; "near": nearest the middle of the price range first
    edits: Edits = Edits()  # this message's edits of the photo in force ("deeper colour"), or its colour move
    latest: tuple[str, ...] = ()  # the filter fields this message changed: kept longest when nothing matches

    def query_text(self, extra_words: tuple[str, ...] = ()) -> str | None:
        """A text query that says exactly the constraints (so re-parsing it gives the same facets)."""
        f = self.filter
        parts = [*f.colours, *self.words, *extra_words, *f.article_types, *f.usages]
        if f.genders:
            parts.append("for " + " ".join(f.genders))
        text = " ".join(parts).strip()
        return text or None

    def describe(self) -> str:
        words = f"'{' '.join(self.words)}', " if self.words else ""
        soft = f", preferring {self.soft.describe()}" if not self.soft.is_empty() else ""
        cheapest = ", cheapest first" if self.sort == "price" else ""
        return f"{words}{self.filter.describe()}{soft}{cheapest}"


@dataclass(frozen=True)
class Interpretation:
    """What one message does. ``constraints`` is the request in force after it."""

    command: Command
    constraints: Constraints
    parsed: ParsedQuery | None = None
    reference: Product | None = None  # a shown product the message points at
    use_reference_image: bool = False  # "more like that": search by the referenced product's picture
    drop_image: bool = False
    new_subject: bool = False
    notes: tuple[str, ...] = ()  # what the assistant should say about how it read the message


def interpret(text: str | None, constraints: Constraints, shown: list[Product], parser: QueryParser,
              *, has_image: bool = False, photo_in_force: bool = False,
              typical_price: Callable[[ProductFilter], float | None] | None = None,
              price_floor: Callable[[ProductFilter], float | None] | None = None) -> Interpretation:
    """How ``text`` changes ``constraints`` given the products shown last. Pure.

    ``has_image``: the message brings a new photo (the reference for its "this", and a new
    subject: who it is for is kept, the rest comes from the photo and the words);
    ``photo_in_force``: an earlier photo is still the reference (its edits are the search's);
    ``typical_price``: what the products under a filter typically cost (the shop's catalog), so
    that "cheaper" goes below both the products shown and what such items usually cost (the
    items the message asks for: "cheap white running shoes" below what white running shoes cost), unless
    that leaves less than a page (``price_floor``: the page's worth of cheapest prices under a filter)."""
    text = (text or "").strip()
    if not text:
        return Interpretation("search" if has_image else "empty", constraints)
    if _RESET.search(text):
        return Interpretation("reset", Constraints(), drop_image=True, new_subject=True)
    reference = resolve_reference(text, shown)
    more_like = bool(_MORE_LIKE.search(text))
    if more_like and reference is None and shown and not has_image:  # with a photo, "this" is the photo
        reference = shown[0]
    parsed = parser.parse(text)
    base, words, new_subject = _subject(text, parsed, constraints, reference, has_image)
    merged, notes = _merged_filter(text, parsed, base)
    photo = (has_image or photo_in_force) and reference is None  # the photo, not a shown product, is "this"
    edits = Edits.of(parsed) if photo else Edits()
    if not photo:
        merged = _price_moves(text, parsed, merged, reference, shown,
                              partial(typical_price, merged) if typical_price else None,
                              partial(price_floor, merged) if price_floor else None)
        moved = _relative_colour(parsed, parser, merged, shown)
        if moved.colours != merged.colours:  # the search fills a short page further that way...
            edits = Edits(relative_colour=parsed.relative_colour)
        elif constraints.edits.relative_colour and moved.colours == constraints.filter.colours:
            edits = Edits(relative_colour=constraints.edits.relative_colour)  # ...while those colours stand
        merged = moved
    fresh_words = parsed.free_words if parsed.free_words is not None else _free_words(parsed, text)
    new_words = tuple(w for w in fresh_words if w not in words)
    soft = _soft(parsed, Constraints() if new_subject else constraints, merged)
    if merged.is_empty() and not words + new_words and not soft.is_empty():
        # "something for a wedding": only preferences were read; their own words are the query, so the
        # page shows what they prefer (re-read, the words give the same preferences) beside the question
        new_words = tuple(dict.fromkeys(p for f in ("article_types", "usages") for p in parsed.matched.get(f, ())))
    sort = parsed.sort or (None if new_subject or parsed.relative_price else constraints.sort)
    command: Command = "skip" if _SKIP.search(text) and not _has_content(parsed.filter, new_words) else "search"
    latest = tuple(f for f in _FIELDS if getattr(merged, f) != getattr(constraints.filter, f) and getattr(merged, f))
    return Interpretation(command, Constraints(merged, words + new_words, soft, sort, edits, latest), parsed, reference,
                          use_reference_image=reference is not None and (more_like or _has_content(parsed.filter,
                                                                                                   new_words)),
                          drop_image=bool(_DROP_IMAGE.search(text)) or (
                              new_subject and photo_in_force and not has_image and not _POINTS_AT_PHOTO.search(text)),
                          new_subject=new_subject, notes=notes)


_FIELDS = ("colours", "article_types", "genders", "usages", "min_price", "max_price")


def _subject(text: str, parsed: ParsedQuery, constraints: Constraints, reference: Product | None,
             new_photo: bool = False):
    """The request a message builds on: the one in force (a refinement), or a new subject that
    keeps only who it is for ("watches" after "black sneakers for men"). Naming another type
    "instead" ("what about loafers instead") or of the items in force ("show me flat ones")
    replaces the type and keeps the rest."""
    pf, old = parsed.filter, constraints.filter
    refines = any(r.search(text) for r in (_CHEAPER, _PRICIER, _ANY_COLOUR, _ANY_PRICE, _ANY_USAGE, _SKIP)) \
        or parsed.relative_price is not None or parsed.relative_colour is not None
    # "something for my dad" starts afresh; "something in blue", "anything cheaper" refine: a new request names a
    # kind, a person or an occasion (what a subject is), not just a colour or a budget
    # ("she doesnt want anything over 60": a pronoun points at the person in force, it names nobody new)
    named_people = pf.genders if parsed.matched.get("genders") else ()
    names_subject = bool(pf.article_types or named_people or parsed.soft.article_types or parsed.soft.usages
                         or parsed.soft.genders)
    swapping = bool(_INSTEAD.search(text)) and not pf.article_types and bool(pf.genders)  # "...for my sister instead"
    fresh = bool(_NEW_REQUEST.search(text)) and reference is None and not refines and names_subject and not swapping \
        and not _ANAPHOR.search(text)  # "also need a dupatta in that colour" builds on what is in force
    # Narrowing to types already in force ("shoes" -> "sports shoes", a clarifying answer) keeps the subject.
    narrows = bool(old.article_types) and set(pf.article_types) <= set(old.article_types)
    swaps = bool(pf.article_types) and bool(_INSTEAD.search(text) or _ANAPHOR.search(text) or _ALSO.search(text)) \
        and not fresh
    new_subject = fresh or new_photo or (bool(pf.article_types) and not narrows and not swaps)
    if fresh:
        return ProductFilter(), (), True
    if new_subject:
        return ProductFilter(genders=old.genders), (), True
    return old, constraints.words, False


def _merged_filter(text: str, parsed: ParsedQuery, base: ProductFilter) -> tuple[ProductFilter, tuple[str, ...]]:
    pf = parsed.filter
    notes: list[str] = []
    merged = base.merged(pf)
    if pf.article_types and _ALSO.search(text):
        merged = replace(merged, article_types=tuple(dict.fromkeys(base.article_types + pf.article_types)))
    if _same_person(pf.genders, base.genders) and not parsed.matched.get("genders"):
        merged = replace(merged, genders=base.genders)  # "he spills everything" about a boy: still the boy
    elif pf.genders and base.genders and set(base.genders) <= {*GROWN_UP, "Unisex"} \
            and set(parsed.matched.get("genders", ())) & _SIBLINGS:
        # "for her twin brother", "her sister too" after a child: a child as well
        young = {v: k for k, v in GROWN_UP.items()}
        merged = replace(merged, genders=tuple(dict.fromkeys(young.get(g, g) for g in pf.genders)))
    if pf.colours and base.exclude_colours:  # "not grey", then "grey ones": nor grey melange excluded any longer
        merged = replace(merged, exclude_colours=tuple(c for c in base.exclude_colours if c not in pf.colours
                                                       and not any(carries_name(w, c) for w in pf.colours)))
    if pf.exclude_colours:
        merged = replace(merged, colours=tuple(c for c in merged.colours if c not in pf.exclude_colours),
                         exclude_colours=tuple(dict.fromkeys(base.exclude_colours + pf.exclude_colours)))
    if len(pf.colours) > 1 and len(parsed.matched.get("colours", ())) > 1:
        notes.append(f"you named {' and '.join(c.lower() for c in pf.colours)}: showing either")
    if _ANY_COLOUR.search(text):  # "any colour except black" keeps what it excludes
        merged = replace(merged, colours=(), exclude_colours=pf.exclude_colours)
    if _ANY_PRICE.search(text) or parsed.clear_price:
        merged = replace(merged, min_price=None, max_price=None)
    if _ANY_USAGE.search(text) or (parsed.soft.usages and not pf.usages and not set(merged.usages) & set(parsed.soft.usages)):
        merged = replace(merged, usages=())  # "casual slip ons", then "a bit more formal": no longer casual only
    return merged, tuple(notes)


_SIBLINGS = frozenset({"brother", "bro", "sister", "sis", "twin", "twin brother", "twin sister", "brothers", "sisters"})


def _same_person(said: tuple[str, ...], before: tuple[str, ...]) -> bool:
    """A pronoun's gender ("he", "her") that the person in force already is (a boy is a he)."""
    return bool(said) and bool(before) and set(said) <= {GROWN_UP.get(g, g) for g in before} | set(before)


def _price_moves(text: str, parsed: ParsedQuery, merged: ProductFilter, reference: Product | None,
                 shown: list[Product], typical: Callable[[], float | None] | None,
                 floor: Callable[[], float | None] | None = None) -> ProductFilter:
    """"cheaper": just below the anchor price; "more expensive": just above it; "half the
    price": half of it."""
    pf = parsed.filter
    lower = (_CHEAPER.search(text) or parsed.relative_price == "lower") and pf.max_price is None
    higher = (_PRICIER.search(text) or parsed.relative_price == "higher") and pf.min_price is None
    if not (lower or higher):
        return merged
    for direction, wanted in (("lower", lower), ("higher", higher)):
        anchor = _anchor_price(reference, shown, typical, direction,
                               None if parsed.price_factor else floor) if wanted else None
        if anchor is not None:
            merged = moved_price(merged, anchor, direction, parsed.price_factor)
    return merged


def _relative_colour(parsed: ParsedQuery, parser, merged: ProductFilter, shown: list[Product]) -> ProductFilter:
    """"a darker one", "paler please": the catalog colours that way of the colours in force
    (or of the colours shown last, when none was asked), and not those. A kind of colour said outright
    ("something bright") moves only colours the shopper asked for; with none, the reader's
    preference for that band of colours stands (the colours shown were never asked for)."""
    if parsed.relative_colour is None or parsed.filter.colours or (parsed.absolute_colour and not merged.colours) \
            or not (merged.colours or shown):  # "she finds them too loud" as a first message: nothing moves
        return merged
    dominant = Counter(p.base_colour for p in shown if p.base_colour).most_common(1)
    current = merged.colours or (tuple(c for c, n in dominant if n * 2 > len(shown)))  # what most of the list is
    moved = parser.shift_colours(current, parsed.relative_colour, asked=bool(merged.colours))
    if not merged.colours and parsed.relative_colour in ("darker", "lighter"):
        # off colours the shopper never chose ("something darker" than white kurtas), any colour of that band
        # does too, the nearest step first (from grey: charcoal, then black, navy...)
        band = parser.colours.band(parsed.relative_colour)
        moved = tuple(dict.fromkeys(moved + tuple(c for c in band if c not in current)))
    moved = tuple(c for c in moved if c not in merged.exclude_colours) or moved  # "not black", then "darker"
    if not moved:
        return merged
    # what it moved away from never comes back to fill a short page ("darker than grey": not grey again)
    away = tuple(c for c in dict.fromkeys(merged.exclude_colours + current) if c not in moved)
    return replace(merged, colours=moved, exclude_colours=away)


def _soft(parsed: ParsedQuery, before: Constraints, merged: ProductFilter) -> ProductFilter:
    """Preferences: the message's replace the same facet's; a facet now stated is no preference,
    but for one among the stated values ("a darker red": the darker reds first)."""
    return open_facets(before.soft.merged(parsed.soft), merged)


def _anchor_price(reference: Product | None, shown: list[Product], typical: Callable[[], float | None] | None,
                  direction: str, floor: Callable[[], float | None] | None = None) -> float | None:
    """The price "cheaper" and "more expensive" are measured from: the referred product's,
    else the median of the products shown last or what such products typically cost,
    whichever is further that way (a page that happened to show dear ones is not the bar); for
    "cheaper", the lower one only when a page still costs less (``floor``: the price of the page's
    worth of cheapest products), else the higher (three grey trunks shown, 8.99 to 21.99, the
    cheapest also what grey trunks typically cost: under 19.99, not under 8.99)."""
    if reference is not None and reference.price is not None:
        return reference.price
    prices = [p.price for p in shown if p.price is not None]
    anchors = [a for a in (statistics.median(prices) if prices else None, typical() if typical else None)
               if a is not None]
    if not anchors:
        return None
    if direction != "lower":
        return max(anchors)
    lowest = floor() if floor is not None else None
    return next((a for a in sorted(anchors) if lowest is None or a - 0.01 >= lowest), max(anchors))


def resolve_reference(text: str, shown: list[Product]) -> Product | None:
    """The shown product ``text`` points at ("the second one", "#2", "the last one"), if any."""
    if not shown:
        return None
    m = _REFERENCE.search(text)
    if not m:
        return None
    if m.group(1):
        idx = _ORDINALS[m.group(1).lower()]
    else:
        idx = int(m.group(2) or m.group(3)) - 1
    if idx >= len(shown):
        return None
    return shown[idx]


def _free_words(parsed: ParsedQuery, text: str) -> tuple[str, ...]:
    """Descriptive words left once facet phrases, price phrases and filler are removed."""
    rest = " " + parsed.semantic_text + " "
    for phrases in parsed.matched.values():
        for ph in sorted(phrases, key=len, reverse=True):
            rest = re.sub(rf"(?<![a-z0-9]){re.escape(ph)}(?![a-z0-9])", " ", rest)
    rest = _REFERENCE.sub(" ", rest)
    words = [w for w in normalise(rest).split() if len(w) > 2 and w not in FILLER_WORDS and not w.isdigit()
             and not w.startswith("$")]
    return tuple(dict.fromkeys(words))[:8]


def _has_content(pf: ProductFilter, words: tuple[str, ...]) -> bool:
    return not pf.is_empty() or bool(words)


@dataclass
class Clarification:
    """One question whose options come from the catalog's facets; the shopper may skip it."""

    question: str
    facet: str  # "article_type" | "gender" | "usage"
    options: list[str] = field(default_factory=list)
