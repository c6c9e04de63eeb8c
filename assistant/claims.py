"""Checking what a written explanation claims about a product against the product's record.

The LLM writes the words; this module finds every attribute the text asserts (a colour, an
article type, who it is for, a usage, a price or a price bound), checks each against the
product's catalog record, and repairs a false claim (the true value replaces the false
one) or drops the sentence when it cannot be repaired. Pure functions over the catalog's
own vocabulary: no model, no store.

A claim is *supported* when the record says so (``base_colour``, ``article_type``,
``gender``, ``usage``, ``price``) or when the product's own title says it (a title "Red
Stole" filed under base colour Maroon supports "red").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Literal

from retrieval.wording import fix_agreement
from retrieval.catalog import Product
from retrieval.query_parser import Vocabulary, normalise, phrase_forms
from retrieval.vocabulary import COLOUR_SYNONYMS, EXTRA_COLOURS, GENDER_WORDS, TYPE_SYNONYMS

logger = logging.getLogger(__name__)

ClaimKind = Literal["colour", "article_type", "gender", "usage", "price", "price_bound"]

_PRICE = re.compile(r"[$£€₹]\s?(\d+(?:[.,]\d{1,2})?)(?!\d|[.,]\d)(?!\s*(?:under|below|over|above|less|more)\s+(?:your|the)\b)|\b(\d+(?:\.\d{1,2})?)\s?(?:dollars|usd|bucks)\b"
                    r"|\b(?:priced at|price of|price is|costs?|costing|for just|for only)\s+(\d+(?:\.\d{1,2})?)", re.I)
_FREE = re.compile(r"\b(?:for free|(?:is|are|it's|its)\s+free\b(?!\s*(?:from|of)\b)|free of charge|costs? nothing|at no cost)", re.I)
_BARE_BOUND = re.compile(r"\b(under|below|less than|within|up to|at most|over|above|more than|at least)\s+(?:the\s+|your\s+)?(\d+(?:\.\d{1,2})?)\b(?!\s*%)", re.I)
_BOUND = re.compile(r"\b(under|below|less than|within|up to|at most|over|above|more than|at least)\s+$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# claim kind -> the product attribute it is about
CLAIM_ATTR = {"colour": "base_colour", "article_type": "article_type", "gender": "gender", "usage": "usage"}
_CENTS = re.compile(r"\b(\d+)\s?(?:cents?\b|¢)(?!\s*(?:under|below|over|above|less|more)\s+(?:your|the)\b)", re.I)
PRICE_TOLERANCE = 0.5  # "$46" for a 45.99 product is the price, rounded
# Words that claim a material or a pattern; each group is supported by any of its words in the title.
MATERIALS = ({"cotton"}, {"leather", "leatherette"}, {"denim"}, {"silk", "silky"}, {"wool", "woollen", "woolen"},
             {"polyester"}, {"suede"}, {"canvas"}, {"linen"}, {"nylon"}, {"satin"}, {"velvet"}, {"chiffon"},
             {"georgette"}, {"lycra", "spandex"}, {"rubber"}, {"plastic"}, {"mesh"}, {"fleece"}, {"khadi"},
             {"crepe"}, {"jute"}, {"synthetic"}, {"faux"}, {"knit", "knitted"}, {"chambray"}, {"corduroy"},
             {"tweed"}, {"rayon", "viscose"}, {"cashmere"}, {"chanderi"}, {"muslin"}, {"terry"})
PATTERNS = ({"striped", "stripes", "stripe", "stripy"}, {"printed", "print", "prints"},
            {"checked", "checks", "checkered", "chequered", "plaid", "check"}, {"floral", "flowers", "flowery"},
            {"solid"}, {"polka", "dots", "dotted"}, {"embroidered", "embroidery"}, {"graphic", "graphics"},
            {"textured", "texture"}, {"camouflage", "camo"}, {"paisley"}, {"sequinned", "sequins", "sequin"},
            {"colourblocked", "colorblocked", "colourblock"}, {"self-design"}, {"abstract"}, {"geometric"})
_WORD_GROUP = {w: (kind, frozenset(g)) for kind, groups in (("material", MATERIALS), ("pattern", PATTERNS))
               for g in groups for w in g}
_FUNCTION_WORDS = frozenset({"and", "of", "the", "for", "a", "an", "with", "in", "on", "to"})
_WORD = re.compile(r"[A-Za-z](?:[A-Za-z&'-]*[A-Za-z])?")
# Capitalised mid-sentence words that name no product: occasions, the shopper, the model's "I".
COMMON_CAPITALISED = frozenset({"i", "diwali", "christmas", "eid", "holi", "valentine", "valentines", "new", "year",
                                "ok", "usd"})


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    phrase: str  # as written (normalised)
    values: tuple[str, ...]  # what the phrase can mean (catalog values), or the number as text
    supported: bool
    start: int = -1  # span in the checked sentence
    end: int = -1


@dataclass(frozen=True)
class CheckedText:
    text: str  # what reaches the shopper
    original: str  # what the model wrote
    claims: tuple[Claim, ...]  # claims in the original text
    repaired: tuple[str, ...] = ()  # "'blue' -> 'red'"
    dropped: tuple[str, ...] = ()  # sentences removed
    unsupported: tuple["Unsupported", ...] = ()  # names, brands, materials, patterns not in the record or title
    agreement: tuple[str, ...] = ()  # agreement errors fixed ("'red tshirts' -> 'red T-shirt'")

    @property
    def had_false_claim(self) -> bool:
        return any(not c.supported for c in self.claims)


@dataclass(frozen=True)
class Unsupported:
    """A word the product's record and title do not back: a capitalised name or brand, a material, a pattern."""

    kind: Literal["name", "material", "pattern"]
    word: str
    start: int
    end: int


@dataclass
class ClaimChecker:
    """Finds attribute claims in text using the catalog vocabulary, longest phrase first."""

    vocab: Vocabulary
    _table: dict[str, tuple[ClaimKind, tuple[str, ...]]] = field(init=False, repr=False)
    _pattern: re.Pattern = field(init=False, repr=False)
    type_phrases: frozenset[str] = field(init=False, repr=False)  # article-type phrases, for agreement
    _vocab_words: frozenset[str] = field(init=False, repr=False)
    _noun_words: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table: dict[str, tuple[ClaimKind, tuple[str, ...]]] = {}

        def add(kind: ClaimKind, phrase: str, values, allowed) -> None:
            present = tuple(v for v in values if v in allowed) if allowed else tuple(values)
            if present and phrase not in table:
                table[phrase] = (kind, present)

        for value in self.vocab.article_types:
            for form in phrase_forms(value):
                add("article_type", form, [value], None)
        for phrase, values in TYPE_SYNONYMS.items():
            add("article_type", normalise(phrase), values, self.vocab.article_types)
        for value in self.vocab.colours:
            for form in phrase_forms(value):
                add("colour", form, [value], None)
        for phrase, values in {**COLOUR_SYNONYMS, **EXTRA_COLOURS}.items():
            add("colour", normalise(phrase), values, self.vocab.colours)
        for phrase, values in GENDER_WORDS.items():
            add("gender", phrase, values, self.vocab.genders)
        for value in self.vocab.usages:
            for form in phrase_forms(value):
                add("usage", form, [value], None)
        self._table = table
        self.type_phrases = frozenset(p for p, (k, _) in table.items() if k == "article_type")
        self._vocab_words = frozenset(w for p in table for w in p.split())
        self._noun_words = frozenset(w for p, (k, _) in table.items() if k in ("article_type", "colour")
                                     for w in p.split()) - _FUNCTION_WORDS
        phrases = sorted(table, key=len, reverse=True)
        alternation = "|".join(re.escape(p) for p in phrases) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<![a-z0-9])({alternation})(?![a-z0-9])")

    # --- finding claims ---------------------------------------------------------------
    def claims(self, text: str, product: Product) -> list[Claim]:
        """Every attribute claim in ``text`` (one sentence or more), checked against ``product``."""
        norm = _norm_keep_length(text)
        title = normalise(product.title)
        out: list[Claim] = []
        for m in self._pattern.finditer(norm):
            kind, values = self._table[m.group(1)]
            out.append(Claim(kind, m.group(1), values, _supported(kind, m.group(1), values, product, title),
                             m.start(), m.end()))
        cents = [(m, int(m.group(1)) / 100) for m in _CENTS.finditer(text)]  # "under 28 cents" is under $0.28
        amounts = [(m, float(next(g for g in m.groups() if g).replace(",", "."))) for m in _PRICE.finditer(text)
                   if not any(c.start() < m.end() and m.start() < c.end() for c, _ in cents)] + cents
        for m, amount in amounts:  # "£44,99" is 44.99
            bound = _BOUND.search(text[: m.start()].lower())
            if bound:
                ok = product.price is not None and _bound_holds(bound.group(1), amount, product.price)
                out.append(Claim("price_bound", f"{bound.group(1)} {amount:g}", (f"{amount:g}",), ok,
                                 m.start(), m.end()))
            else:
                ok = product.price is not None and abs(amount - product.price) <= PRICE_TOLERANCE
                out.append(Claim("price", f"{amount:g}", (f"{amount:g}",), ok, m.start(), m.end()))
        for m in _FREE.finditer(text):  # "it is free" is a price claim of 0
            ok = product.price is not None and product.price <= PRICE_TOLERANCE
            out.append(Claim("price", "0", ("0",), ok, m.start(), m.end()))
        priced = {(c.start, c.end) for c in out if c.kind in ("price", "price_bound")}
        for m in _BARE_BOUND.finditer(text):  # "under 40" without a currency sign
            if any(s <= m.start(2) < e for s, e in priced):
                continue
            amount = float(m.group(2))
            ok = product.price is not None and _bound_holds(m.group(1).lower(), amount, product.price)
            out.append(Claim("price_bound", f"{m.group(1).lower()} {amount:g}", (f"{amount:g}",), ok,
                             m.start(2), m.end(2)))
        return out

    # --- checking and repairing -------------------------------------------------------
    def check(self, text: str, product: Product, *, forbidden: tuple[str, ...] = (),
              unrepairable: frozenset[str] = frozenset()) -> CheckedText:
        """``text`` with false claims repaired; sentences that cannot be repaired (or that
        contain a ``forbidden`` string, e.g. the system prompt) are dropped. A false claim of
        a kind in ``unrepairable`` drops its sentence: when the product lacks what the shopper
        asked for (a relaxed result), "black, as you asked" would be a true colour in a false
        sentence."""
        all_claims, kept, repaired, dropped, unsupported, agreement = [], [], [], [], [], []
        for sentence in sentences(text):
            claims = self.claims(sentence, product)
            all_claims += claims
            unsupported += self.unsupported(sentence, product)
            if any(f and f.lower() in sentence.lower() for f in forbidden):
                dropped.append(sentence)
                continue
            if any(not c.supported and c.kind in unrepairable for c in claims):
                dropped.append(sentence)
                continue
            fixed, notes = self._repair(sentence, claims, product)
            if fixed is not None:
                fixed, word_notes = self.repair_words(fixed, product)
                notes += word_notes
            if fixed is None or any(not c.supported for c in self.claims(fixed, product)):
                dropped.append(sentence)
                continue
            fixed, agreed = fix_agreement(fixed, self.type_phrases)
            repaired += notes
            agreement += agreed
            kept.append(fixed)
        return CheckedText(" ".join(kept).strip(), text, tuple(all_claims), tuple(repaired), tuple(dropped),
                           tuple(unsupported), tuple(agreement))

    # --- names, brands, materials, patterns ----------------------------------------------
    def unsupported(self, text: str, product: Product) -> list[Unsupported]:
        """Words in ``text`` that the record and title of ``product`` do not back: a capitalised
        word (a name or brand) in the middle of a sentence, a material, a pattern. Words of the
        catalog vocabulary (colours, types, who, usage) are the claim check's, not this one's."""
        known = set()
        for value in (product.title, product.base_colour, product.article_type, product.gender, product.usage):
            for token in normalise(value or "").split():
                known |= {token, *re.split(r"[-'&.]", token)}
        out: list[Unsupported] = []
        for m in _WORD.finditer(text):
            word = m.group(0)
            parts = [w for w in re.split(r"[-'&.\s]", normalise(word)) if w] or [word.lower()]  # "Q&Q" -> q, q
            group = _WORD_GROUP.get(word.lower())
            if group is not None:
                if not group[1] & known:
                    out.append(Unsupported(group[0], word, m.start(), m.end()))
                continue
            if not word[0].isupper() or _starts_sentence(text, m.start()):
                continue
            if all(w in known or w in self._vocab_words or w in COMMON_CAPITALISED for w in parts):
                continue
            out.append(Unsupported("name", word, m.start(), m.end()))
        return out

    def repair_words(self, sentence: str, product: Product) -> tuple[str | None, list[str]]:
        """``sentence`` with unsupported words removed where they only modify the noun that
        follows ("a red Polo Tears T-shirt" -> "a red T-shirt", "a cotton shirt" -> "a shirt");
        ``None`` when one stands anywhere else ("it is red Polo Tears"): the sentence is dropped."""
        bad = self.unsupported(sentence, product)
        if not bad:
            return sentence, []
        out, notes = sentence, []
        for run in reversed(_runs(sentence, bad)):
            start, end = run
            following = _WORD.match(sentence, len(sentence) - len(sentence[end:].lstrip()))
            if following is None or normalise(following.group(0)).split("-")[0] not in self._noun_words:
                return None, []
            notes.append(f"{sentence[start:end]!r} removed")
            out = out[:start] + out[end:].lstrip()
        return out, notes
    def _repair(self, sentence: str, claims: list[Claim], product: Product) -> tuple[str | None, list[str]]:
        false = [c for c in claims if not c.supported]
        if not false:
            return sentence, []
        if len(false) > 1:  # more than one thing wrong: not worth saving
            return None, []
        out, notes = sentence, []
        for c in sorted(false, key=lambda c: -c.start):  # right to left keeps earlier spans valid
            true = _true_phrase(c.kind, product)
            if true is None:
                return None, []
            if c.kind == "price_bound":  # "under $30" for a 35.99 product -> "at $35.99"
                head = _BOUND.search(out[: c.start].lower())
                start = head.start() if head else c.start
                out = out[:start] + true + out[c.end:]
            elif re.match(rf"\s+{re.escape(true)}\b", out[c.end:], re.I):  # "orange mustard": the false word goes
                out = out[: c.start] + out[c.end:].lstrip()
            elif re.search(rf"\b{re.escape(true)}\s+$", out[: c.start], re.I):  # "mustard orange" likewise
                out = out[: c.start].rstrip() + out[c.end:]
            else:
                out = out[: c.start] + true + out[c.end:]
            notes.append(f"{c.phrase!r} -> {true!r}")
        return out, notes


def _supported(kind: ClaimKind, phrase: str, values: tuple[str, ...], p: Product, title: str) -> bool:
    in_title = re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", title) is not None
    if kind == "colour":
        base = normalise(p.base_colour or "")
        return p.base_colour in values or in_title or (bool(base) and phrase in base.split())
    if kind == "article_type":
        return p.article_type in values or in_title
    if kind == "gender":
        return p.gender in values or p.gender == "Unisex" or in_title
    if kind == "usage":
        return p.usage in values or in_title
    return True


def _bound_holds(word: str, amount: float, price: float) -> bool:
    if word in ("under", "below", "less than", "within", "up to", "at most"):
        return price <= amount + 1e-9
    return price >= amount - 1e-9


def _true_phrase(kind: ClaimKind, p: Product) -> str | None:
    if kind in ("price", "price_bound"):
        return None if p.price is None else (f"${p.price:.2f}" if kind == "price" else f"at ${p.price:.2f}")
    value = getattr(p, CLAIM_ATTR[kind])
    return value.lower() if value else None


def _norm_keep_length(text: str) -> str:
    """Lower-case with punctuation blanked, same length as ``text`` so spans map back."""
    lowered = text.lower().replace("’", "'")
    return "".join(ch if ch.isalnum() or ch == " " else " " for ch in lowered)


def _starts_sentence(text: str, pos: int) -> bool:
    before = text[:pos].rstrip(" \"'(")
    return not before or before[-1] in ".!?:"


def _runs(text: str, words: list[Unsupported]) -> list[tuple[int, int]]:
    """Adjacent unsupported words as one span each ("Polo Tears"), left to right."""
    runs: list[list[int]] = []
    for w in sorted(words, key=lambda w: w.start):
        if runs and not text[runs[-1][1]:w.start].strip():
            runs[-1][1] = w.end
        else:
            runs.append([w.start, w.end])
    return [(a, b) for a, b in runs]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
