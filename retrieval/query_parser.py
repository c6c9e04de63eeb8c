"""Turn what a shopper types into catalog filters plus the words left for semantic ranking.

Constraints are matched against the catalog's *own* vocabulary (the facet values stored
with the store), longest phrase first, with plural/singular forms and a small table of
everyday synonyms ("tee" -> Tshirts, "navy" -> Navy Blue, "for him" -> Men). Prices:
"under 40", "below $40", "less than 40", "over 20", "between 20 and 40", "20-40".
Pure functions only: no Chroma, no models.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Literal

from retrieval.filters import ProductFilter
from retrieval.vocabulary import (  # noqa: F401  (Vocabulary and the tables are re-exported)
    COLOUR_SYNONYMS,
    GENDER_SYNONYMS,
    TYPE_SYNONYMS,
    USAGE_SYNONYMS,
    Vocabulary,
)

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000


class QueryError(ValueError):
    """A query that cannot be searched (empty, too long). The message says which and why."""


@dataclass(frozen=True)
class ParsedQuery:
    """What a request says. ``filter`` holds what the shopper stated; the rest is read by
    :class:`retrieval.reader.RequestReader` (this module's parser leaves it at the defaults)."""

    text: str
    filter: ProductFilter
    semantic_text: str  # the query without price phrases, for embedding
    matched: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet -> phrases seen
    soft: ProductFilter = ProductFilter()  # inferred (an occasion's usage, an age's gender): boosts, not filters
    sort: Literal["price", "near"] | None = None  # "the cheapest"; "around 40" (nearest 40 first)
    relative_colour: str | None = None  # "darker", "lighter", "brighter", "muted", "pastel", "deeper"
    absolute_colour: bool = False  # said as a kind of colour ("something bright"), not a move ("brighter")
    relative_price: Literal["lower", "higher"] | None = None  # "cheaper", "less pricey"
    price_factor: float | None = None  # "half the price": the relative move is that fraction of the reference
    clear_price: bool = False  # "money is no object"
    complement: bool = False  # "something to wear with this"
    confidence: dict[str, float] = field(default_factory=dict)  # facet -> how sure the reading is (1 = exact)
    free_words: tuple[str, ...] | None = None  # the descriptive words left once facets are read (None: not read)
    reference_types: tuple[str, ...] = ()  # kinds named as the thing of reference ("goes with *these jeans*")


_NUM = r"\$?\s*(\d+(?:\.\d+)?)\s*(?:dollars|usd|bucks|\$)?"
_PRICE_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"\bbetween\s+{_NUM}\s+(?:and|to|-)\s+{_NUM}"), "range"),
    (re.compile(rf"(?<![\w.]){_NUM}\s*(?:-|to)\s*{_NUM}(?=\s|$)"), "range"),
    (re.compile(rf"(?:\bunder|\bbelow|\bless than|\bcheaper than|\bmax(?:imum)?|\bup ?to|\bat most|\bno more than|\bwithin|\bbudget(?: of)?|<=?)\s*{_NUM}"), "max"),
    (re.compile(rf"(?:\bover|\babove|\bmore than|\bat least|\bmin(?:imum)?|\bfrom|\bstarting at|>=?)\s*{_NUM}"), "min"),
]
_NEGATION = re.compile(r"\b(?:not|no|except|without|but not|anything but)\s+$")


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("'s", "s").replace("'", "")
    text = re.sub(r"t-shirts?", lambda m: "tshirts" if m.group(0).endswith("s") else "tshirt", text)
    text = re.sub(r"[^a-z0-9$.<>=\- ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _singular(word: str) -> str:
    for suffix, repl in (("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("ies", "y"), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    return word


def phrase_forms(value: str) -> set[str]:
    base = normalise(value)
    words = base.split()
    forms = {base, " ".join(words[:-1] + [_singular(words[-1])])} if words else set()
    if words and words[-1].endswith("es"):  # "dresses" -> "dress", "watches" -> "watch"
        forms.add(" ".join(words[:-1] + [words[-1][:-2]]))
    forms |= {f.replace(" ", "") for f in forms if " " in f and len(f) < 14}  # "flip flops" -> "flipflops"
    return {f for f in forms if len(f) > 1}


def plural_form(phrase: str) -> str:
    """The phrase with its last word in the plural ("laptop bag" -> "laptop bags": not "laptop" + any bag)."""
    if phrase.endswith("s"):
        return phrase
    return phrase + ("es" if phrase.endswith(("sh", "ch", "x", "z")) else "s")


class QueryParser:
    """Matches facet phrases of one :class:`Vocabulary`. Build once, parse many."""

    FACET_PRIORITY = ("article_types", "colours", "genders", "usages")

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        table: dict[str, dict[str, set[str]]] = {f: {} for f in self.FACET_PRIORITY}

        def add(facet: str, phrase: str, values):
            present = [v for v in values if v in getattr(vocab, facet)]
            if present:
                table[facet].setdefault(phrase, set()).update(present)

        for facet in self.FACET_PRIORITY:
            for value in getattr(vocab, facet):
                for form in phrase_forms(value):
                    add(facet, form, [value])
        for facet, synonyms in (("article_types", TYPE_SYNONYMS), ("colours", COLOUR_SYNONYMS),
                                ("genders", GENDER_SYNONYMS), ("usages", USAGE_SYNONYMS)):
            for phrase, values in synonyms.items():
                if phrase not in table[facet]:  # the catalog's own names win
                    add(facet, normalise(phrase), values)
        entries = [(phrase, facet, tuple(sorted(values)), self.FACET_PRIORITY.index(facet))
                   for facet, phrases in table.items() for phrase, values in phrases.items()]
        entries.sort(key=lambda e: (-len(e[0]), e[3]))
        self._entries = entries
        alternation = "|".join(re.escape(e[0]) for e in entries) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<![a-z0-9])({alternation})(?![a-z0-9])")
        self._lookup = {}
        for phrase, facet, values, _ in entries:
            self._lookup.setdefault(phrase, (facet, values))

    def parse(self, text: str) -> ParsedQuery:
        check_query_text(text)
        norm = normalise(text)
        min_price = max_price = None
        semantic = norm
        for pattern, kind in _PRICE_PATTERNS:
            for m in pattern.finditer(norm):
                nums = [float(g) for g in m.groups() if g is not None]
                if not all(math.isfinite(n) for n in nums):  # 400 digits parse as inf
                    raise QueryError(f"price in {m.group(0)[:40].strip()!r}... is too large to filter on")
                if kind == "range" and len(nums) == 2:
                    min_price, max_price = min(nums), max(nums)
                elif kind == "max" and max_price is None:
                    max_price = nums[0]
                elif kind == "min" and min_price is None:
                    min_price = nums[0]
                semantic = semantic.replace(m.group(0), " ")
        if min_price is not None and max_price is not None and min_price > max_price:
            min_price, max_price = max_price, min_price
        found: dict[str, list[str]] = {f: [] for f in self.FACET_PRIORITY}
        excluded: list[str] = []
        phrases: dict[str, list[str]] = {}
        for m in self._pattern.finditer(norm):
            facet, values = self._lookup[m.group(1)]
            if facet == "colours" and _NEGATION.search(norm[: m.start()]):
                excluded.extend(values)
                continue
            found[facet].extend(v for v in values if v not in found[facet])
            phrases.setdefault(facet, []).append(m.group(1))
        filt = ProductFilter(
            colours=tuple(found["colours"]), article_types=tuple(found["article_types"]),
            genders=tuple(found["genders"]), usages=tuple(found["usages"]),
            min_price=min_price, max_price=max_price,
            exclude_colours=tuple(v for v in excluded if v not in found["colours"]),
        )
        semantic = re.sub(r"\s+", " ", semantic).strip() or norm
        return ParsedQuery(text=text, filter=filt, semantic_text=semantic,
                           matched={k: tuple(v) for k, v in phrases.items()})


def check_query_text(text: str | None) -> None:
    if text is None:
        return
    if not isinstance(text, str):
        raise QueryError(f"query text must be a string, got {type(text).__name__}")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query text is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")


def check_query(text: str | None, has_image: bool, k: int, max_k: int) -> str | None:
    """The query's text, stripped, once it and ``k`` are checked (``QueryError`` saying what)."""
    check_query_text(text)
    text = text.strip() if text else None
    if not text and not has_image:
        raise QueryError("empty query: give some text, an image, or both")
    if not 1 <= k <= max_k:
        raise QueryError(f"k={k} is out of range 1..{max_k}")
    return text
