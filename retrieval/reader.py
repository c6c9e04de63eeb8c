"""Read a shopper's words onto the catalog's facets, with graded confidence.

:class:`RequestReader` has the query parser's interface (``parse(text) -> ParsedQuery``,
``vocab``), so every entry point that searches reads requests the same way. On top of the
catalog's own names it reads, in order:

1. number words and price phrases: "no more than thirty dollars", "around 40 give or take",
   "between 15 and 25", "the cheapest", "money is no object", "less pricey";
2. phrases from the tables (:mod:`retrieval.vocabulary`, :mod:`retrieval.concepts`): other
   words for types, colour words placed in CIELAB (:mod:`retrieval.colours`), people, ages,
   occasions; negations in free form ("anything but brown", "she hates pink");
3. typos and spacing by fuzzy matching (rapidfuzz) of what is left: "sneekers", "t shrt";
4. with an embedding function, a word no table has ("cardigan", "windbreaker") by its
   similarity to the catalog's type names.

What the shopper stated becomes ``filter``; what is only inferred (an occasion's usage, an
age's gender, a type guessed by embedding) becomes ``soft``, a ranking preference. Words it
cannot map stay in ``semantic_text`` for the ranking. Pure over its tables; no store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from retrieval.colours import WORD_RGB, colour_space
from retrieval.concepts import (ADULT_AGE, FUZZY_PEOPLE, OCCASIONS, PEOPLE, SELF_WORDS, TYPE_WORDS, USAGE_WORDS,
                                WORN_BY)
from retrieval.filters import ProductFilter, open_facets
from retrieval.prices import read_prices, words_to_numbers
from retrieval.query_parser import ParsedQuery, check_query_text, phrase_forms, plural_form
from retrieval.reader_spelling import TwoWordKinds, unglue
from retrieval.reader_words import (ABSOLUTE_COLOUR, AGE, COMPARATIVE, COMPLEMENT, DEMONSTRATIVE, FUZZY_SKIP, GENERIC,
                                     MORE, NEGATED_AFTER, NEGATION, OPPOSITE, PRONOUNS, RELATIVE_COLOUR, SELF, STYLE, THEY, grown_up, may_be_typo, modifier_kinds,
                                     named_shades, narrowest_types, negation_since, normalise, occasion_usages, place_reference, rejoin,
                                     each_its_own, says_colours, tokens, too_before, window_before)
from retrieval.vocabulary import CHILDREN, COLOUR_SYNONYMS, FILLER_WORDS, GENDER_SYNONYMS, TYPE_SYNONYMS, Vocabulary

logger = logging.getLogger(__name__)

EmbedFn = Callable[[Sequence[str]], np.ndarray]
FACETS = ("article_types", "colours", "genders", "usages")


@dataclass(frozen=True)
class _Entry:
    facet: str  # a ProductFilter field, or "soft:<field>", "style", "relative"
    values: tuple[str, ...]


@dataclass
class _Reading:
    hard: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in FACETS})
    soft: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in FACETS})
    excluded: dict[str, list[str]] = field(default_factory=dict)  # facet -> values not wanted
    phrases: dict[str, list[str]] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    pronoun_genders: list[str] = field(default_factory=list)
    relative_colour: str | None = None
    relative_end: int | None = None  # where "darker" ended: a colour right after it is the one moved
    absolute_colour: bool = False  # "bright", not "brighter" (ABSOLUTE_COLOUR)
    moved_colours: bool | str = False  # "a darker blue": True; "darker than blue": "than" (moved away from it)
    moved: list[str] = field(default_factory=list)  # the colours moved from ("blue")
    reference_types: list[str] = field(default_factory=list)  # "goes with these jeans"
    reference_only: list[str] = field(default_factory=list)  # "dressier than these jeans": never the one wanted
    child: bool = False  # an age under adult was said ("my 7 year old"): kids' things, in the catalog's word
    type_groups: list[tuple[str, ...]] = field(default_factory=list)  # the kinds each stated type phrase names
    occasion_usages: list[tuple[str, ...]] = field(default_factory=list)  # the usages each occasion read suggests

    def add(self, facet: str, values, phrase: str, confidence: float = 1.0, soft: bool = False) -> None:
        target = self.soft if soft else self.hard
        target[facet].extend(v for v in values if v not in target[facet])
        if facet == "article_types" and not soft:
            self.type_groups.append(tuple(values))
        self.phrases.setdefault(facet, []).append(phrase)
        key = f"soft:{facet}" if soft else facet
        self.confidence[key] = min(self.confidence.get(key, 1.0), confidence)


class RequestReader:
    """Reads requests against one catalog :class:`Vocabulary`. Build once, parse many."""

    def __init__(self, vocab: Vocabulary, embed: EmbedFn | None = None, *, fuzzy_cutoff: float = 80.0,
                 embed_soft: float = 0.5, embed_margin: float = 0.05, known_words: frozenset[str] = frozenset()):
        self.vocab, self.known_words = vocab, known_words  # real words ("goes", "glass") are never read as typos
        self.colours = colour_space(vocab.colours)
        self.fuzzy_cutoff, self.embed_soft, self.embed_margin = fuzzy_cutoff, embed_soft, embed_margin
        self._exact_only: set[str] = set()  # table phrases fuzzy matching never aims at
        self._table = self._build_table()
        self._kind_words = {p for p, e in self._table.items() if e.facet == "article_types" and " " not in p}
        alternation = "|".join(re.escape(p) for p in sorted(self._table, key=len, reverse=True)) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<![a-z0-9])({alternation})(?![a-z0-9])")
        self._fuzzy_choices = {p: p.replace(" ", "") for p, e in self._table.items()
                               if (e.facet in ("article_types", "colours") or p in FUZZY_PEOPLE)
                               and p not in self._exact_only
                               and len(p.replace(" ", "")) >= 4}
        self._kinds = TwoWordKinds([p for p, e in self._table.items() if e.facet == "article_types"],
                                   set(self._table), self.known_words, fuzzy_cutoff)
        self._embed = embed
        self._type_vecs = self._generic_vecs = None
        if embed is not None and vocab.article_types:
            self._type_vecs = _unit(embed([t.lower() for t in vocab.article_types]))
            self._generic_vecs = _unit(embed(list(GENERIC)))

    # --- the table of phrases -----------------------------------------------------------
    def _build_table(self) -> dict[str, _Entry]:
        v, table = self.vocab, {}

        def add(phrase: str, facet: str, values, forms: bool = True) -> None:
            field_ = facet.split(":")[-1]
            present = tuple(x for x in values if x in getattr(v, field_, ())) if field_ in FACETS else tuple(values)
            if not present:
                return
            found = phrase_forms(phrase) if forms else {normalise(phrase)}
            found |= {plural_form(f) for f in found} if forms and field_ == "article_types" else set()  # laptop bags
            for form in found:
                if form in FILLER_WORDS or form in ("short", "tight"):  # "a lighter shade", "a short dress", "not
                    continue  # too tight": no shades, no shorts, no tights
                old = table.get(form)
                if old is None:
                    table[form] = _Entry(facet, present)
                elif old.facet == facet:  # "rucksack": the catalog's Rucksacks and the everyday Backpacks
                    table[form] = _Entry(facet, old.values + tuple(x for x in present if x not in old.values))

        for facet in FACETS:  # the catalog's own names win
            for value in getattr(v, facet):
                add(value, facet, (value,))
        for phrase, values in {**TYPE_SYNONYMS, **TYPE_WORDS}.items():
            add(phrase, "article_types", values)
        for phrase, values in COLOUR_SYNONYMS.items():
            add(phrase, "colours", values)
        for phrase, values in {**GENDER_SYNONYMS, **PEOPLE}.items():
            if phrase not in PRONOUNS:
                add(phrase, "genders", values, forms=False)
        for phrase, values in PEOPLE.items():  # "my dad's", "dads": normalised, the possessive is the plural
            if phrase not in PRONOUNS and not phrase.endswith("s") and " " not in phrase:
                add(phrase + "s", "genders", values, forms=False)
        for phrase, values in USAGE_WORDS.items():
            add(phrase, "usages", values, forms=False)
        for phrase, form in ((p, f) for p in OCCASIONS for f in {normalise(p), plural_form(normalise(p))} - {"runs", "works"}):
            table.setdefault(form, _Entry("occasion", (phrase,)))  # "weekend trips", "meetings"; not "it runs small",
            # nor "either works"
        for phrase, values in STYLE.items():
            add(phrase, "soft:usages", values, forms=False)
        for phrase, direction in RELATIVE_COLOUR.items():
            table.setdefault(normalise(phrase), _Entry("relative", (direction,)))
        own = {normalise(c) for c in (*v.colours, *COLOUR_SYNONYMS)}  # the catalog's and the table's names stay
        for word, colours in self.colours.word_colours.items():  # last: never takes another table's word
            if normalise(word) not in own:
                add(word, "colours", colours)
                if word not in WORD_RGB:  # a survey name is read as written, never as a typo's target
                    self._exact_only.add(normalise(word))
        return table

    # --- parse ------------------------------------------------------------------------
    def parse(self, text: str) -> ParsedQuery:
        check_query_text(text)
        norm = self._kinds.fix(unglue(rejoin(words_to_numbers(normalise(text)), self._kind_words), self._table))
        prices, reading = read_prices(norm), _Reading()
        rest = prices.rest
        covered = self._read_phrases(rest, reading) + self._read_people(rest, reading)
        leftover = [w for i, w in tokens(rest) if not any(a <= i < b for a, b in covered)]
        leftover = self._read_fuzzy(leftover, reading)
        self._read_by_embedding(leftover, reading)
        return self._result(text, norm, prices, reading, leftover)

    def _read_phrases(self, text: str, reading: _Reading) -> list[tuple[int, int]]:
        covered, prev, kinds, kind_end = [], (0, None, False), [], 0  # the last facet phrase's end, facet, negated
        found, cue = list(self._pattern.finditer(text + " ")), COMPLEMENT.search(text)  # "to wear with a red dress"
        ref_end = next((k.end() for k in found if k.start() >= cue.end()
                        and self._table[k.group(1)].facet == "article_types"), 0) if cue else 0
        for m in found:
            if covered and m.start() < covered[-1][1]:  # within a complaint read ("navy is too bright")
                continue
            phrase, entry = m.group(1), self._table[m.group(1)]
            covered.append((m.start(), m.end()))
            if phrase == "shades" and self._says_colours(text, m, prev, found, reading):
                continue  # "purple or lilac shades": colours, not sunglasses
            if cue and cue.end() <= m.start() < ref_end and entry.facet in ("colours", "article_types") \
                    and (reading.hard["article_types"] or THEY.search(cue.group(0))):
                reading.reference_types.extend(entry.values if entry.facet == "article_types" else ())
                reading.phrases.setdefault("reference", []).append(phrase)
                continue
            since, after = negation_since(text, prev, entry.facet, m.start()), None  # "no heels, black flats": flats
            if entry.facet == "relative":
                _read_relative(text, m, entry.values[0], reading)
            elif entry.facet == "colours" and reading.relative_end is not None and \
                    (between := re.sub(r" (?:that|this|the)$", "", text[reading.relative_end:m.start()].rstrip())
                     .strip()) in ("", "than"):  # "deeper pink", "darker than that blue"
                reading.add("colours", entry.values, phrase)
                reading.moved_colours, reading.moved = between or True, reading.moved + list(entry.values)
            elif entry.facet in ("colours", "usages", "article_types", "genders", "occasion") and \
                    (NEGATION.search(window_before(text[since:], m.start() - since))  # "not a kid": genders too
                     or (since == 0 and prev[2]) or (after := NEGATED_AFTER.match(text, m.end()))  # "nor white and cream"
                     or (entry.facet == "colours" and too_before(text, m.start()))):  # "too neon"
                covered += [after.span()] if after else []  # "heels kill my feet": no description
                facet, values = ("usages", OCCASIONS[entry.values[0]][0]) if entry.facet == "occasion" \
                    else (entry.facet, entry.values)  # "not office wear", "not gym stuff": not that usage
                excluded = reading.excluded.setdefault(facet, [])
                excluded.extend(x for x in values if x not in excluded)
                reading.phrases.setdefault("exclude_" + facet, []).append(phrase)
            elif entry.facet == "article_types" and DEMONSTRATIVE.search(text[max(0, m.start() - 24, kind_end):m.start()]):
                reading.reference_types.extend(x for x in entry.values if x not in reading.reference_types)
                if COMPARATIVE.search(text[max(0, m.start() - 24):m.start()]):
                    reading.reference_only.extend(entry.values)
                reading.phrases.setdefault("reference", []).append(phrase)
            elif entry.facet == "occasion":
                usages, types = OCCASIONS[entry.values[0]]
                reading.occasion_usages.append(usages)
                reading.add("usages", [u for u in usages if u in self.vocab.usages], phrase, soft=True)
                reading.add("article_types", [t for t in types if t in self.vocab.article_types], phrase, soft=True)
            elif entry.facet.startswith("soft:"):
                reading.add(entry.facet[5:], entry.values, phrase.strip(), soft=True)
            else:
                reading.add(entry.facet, entry.values, phrase)
                kinds += [(m.start(), m.end(), phrase, entry.values)] if entry.facet == "article_types" else []
            if entry.facet in ("colours", "usages", "article_types", "genders", "relative"):  # "nothing loud, black"
                prev = (m.end(), entry.facet, phrase in reading.phrases.get("exclude_" + entry.facet, []))
            kind_end = m.end() if entry.facet == "article_types" else kind_end  # "with this kurta, leggings": wanted
        made_of = modifier_kinds(kinds, text)  # "denim jacket", "woolly hat", "shirt dress": no jeans, no sweaters
        reading.hard["article_types"] = [t for t in reading.hard["article_types"] if t not in made_of]
        for m in re.finditer(r"(?<![a-z0-9])(her|she|hers|him|he|his)(?![a-z0-9])", text):
            reading.pronoun_genders.extend(PRONOUNS[m.group(1)])
        return covered

    def _says_colours(self, text: str, m: re.Match, prev, found: list[re.Match], reading: _Reading) -> bool:
        other_kind = any(self._table[k.group(1)].facet == "article_types" and k.group(1) != m.group(1) for k in found)
        return says_colours(text, m.start(), m.end(), prev, len(reading.phrases.get("colours", [])), other_kind)

    def _read_people(self, text: str, reading: _Reading) -> list[tuple[int, int]]:
        """Who the shopper is, how old the wearer is; the spans read (an age is no description)."""
        if m := SELF.search(text):  # "im a girl": a woman, not also a girl's size
            if (said := self._table.get(m.group(1))) and said.facet == "genders" and reading.phrases.get("genders") == [m.group(1)]:
                reading.hard["genders"] = [g for g in reading.hard["genders"] if g not in said.values]
            reading.add("genders", SELF_WORDS[m.group(1)], m.group(0))
        if not (m := AGE.search(text)):
            return []
        age = int(next(g for g in m.groups() if g))
        reading.child = age < ADULT_AGE
        if age < ADULT_AGE and not set(reading.hard["genders"]) & CHILDREN:
            kids = [g for g in ("Boys", "Girls") if g in self.vocab.genders]
            reading.add("genders", kids, m.group(0), soft=True)
            reading.hard["genders"] = [g for g in reading.hard["genders"] if g in kids]
        elif age >= ADULT_AGE:  # "my 15 year old daughter"
            reading.hard["genders"] = [g for g in grown_up(reading.hard["genders"], age) if g in self.vocab.genders]
        return [m.span()]

    def _read_fuzzy(self, words: list[str], reading: _Reading) -> list[str]:
        """Typos and spacing: each left word, and each pair of neighbours joined ("back pack"),
        against the type and colour phrases; same first letter, length >= 4. A pair is joined
        only when neither is a function word ("show me" is not "shoes"; a lone letter, as in
        "t shrt", may join)."""
        left, i = [], 0
        while i < len(words):
            joinable = i + 1 < len(words) and not {w for w in words[i:i + 2] if len(w) > 1} & FILLER_WORDS
            pair = words[i] + words[i + 1] if joinable else None
            for cand, span in ((pair, 2), (words[i], 1)):
                if cand and self._fuzzy_one(cand, " ".join(words[i:i + span]), reading):
                    i += span
                    break
            else:
                left.append(words[i])
                i += 1
        return left

    def _fuzzy_one(self, word: str, shown: str, reading: _Reading) -> bool:
        if not may_be_typo(word):
            return False
        if word == shown and word in self.known_words:  # one real word; a joined pair ("back pack") may still match
            return False
        found = process.extractOne(word, self._fuzzy_choices, scorer=fuzz.ratio, score_cutoff=self.fuzzy_cutoff)
        if found is None or found[0][0] != word[0] or abs(len(found[0]) - len(word)) > 2:
            return False
        entry = self._table[found[2]]
        if entry.facet == "colours" and NEGATION.search(shown):
            return False
        reading.add(entry.facet, entry.values, shown, confidence=found[1] / 100)
        return True

    def _read_by_embedding(self, words: list[str], reading: _Reading) -> None:
        """A word no table has, when no type was read: the nearest catalog type names, as a soft
        preference only (single words embed noisily: measured, "outfit" is nearer Dresses than
        "cardigan" is to Sweaters), and only when the word is nearer a type than generic words."""
        content = [w for w in words if w not in FILLER_WORDS and w not in FUZZY_SKIP and len(w) > 3 and not w.isdigit()]
        if self._type_vecs is None or reading.hard["article_types"] or reading.soft["article_types"] or not content:
            return
        vecs = _unit(self._embed(content))
        sims = vecs @ self._type_vecs.T
        margin = sims.max(1) - (vecs @ self._generic_vecs.T).max(1)
        word_i = int(np.argmax(np.where(margin >= self.embed_margin, sims.max(1), -1)))
        best = float(sims[word_i].max())
        if best < self.embed_soft or margin[word_i] < self.embed_margin:
            return
        near = [self.vocab.article_types[j] for j in np.argsort(-sims[word_i])[:2] if sims[word_i, j] >= best - 0.03]
        reading.add("article_types", near, content[word_i], confidence=best, soft=True)

    # --- the result -------------------------------------------------------------------
    def _result(self, text: str, norm: str, prices, reading: _Reading, leftover: list[str]) -> ParsedQuery:
        hard, soft = reading.hard, reading.soft
        soft["usages"] = occasion_usages(reading.occasion_usages, soft["usages"])
        if not hard["genders"] and reading.pronoun_genders and not soft["genders"]:
            hard["genders"] = [g for g in dict.fromkeys(reading.pronoun_genders) if g in self.vocab.genders]
        worn_by = [g for p in reading.phrases.get("article_types", []) + [r.removesuffix("s") for r in reading.phrases.get(
            "reference", [])] for g in WORN_BY.get(p, ())]  # "panties": hers; "to wear under my kurtis": hers too
        if worn_by and not hard["genders"] and not soft["genders"] and not reading.child:
            hard["genders"] = [g for g in dict.fromkeys(worn_by) if g in self.vocab.genders]
        hard["article_types"] = narrowest_types(reading.type_groups, hard["article_types"], norm)
        hard["article_types"] = place_reference(norm, hard["article_types"], reading.reference_types, reading.reference_only)
        if hard["article_types"] and (among := [t for t in soft["article_types"] if t in hard["article_types"]]):
            soft["article_types"] = among  # "a bag for a night out": among the bags, the evening ones first
        if reading.moved_colours and hard["colours"]:  # "a paler blue": a blue, and the blues that way (first);
            named, away = tuple(reading.moved), reading.moved_colours == "than"  # "paler than blue": not blue
            others = tuple(c for c in hard["colours"] if c not in named)  # "a lighter brown, more tan": tan leads
            that_way = tuple(c for c in self.colours.shifted(named, reading.relative_colour) if c not in others  # still
                             and (away or any(self.colours.is_kind_of(n, c) for n in named)))  # it ("paler pink": no white)
            hard["colours"] = list(dict.fromkeys((() if away and that_way else named) + others + that_way))
            if that_way or others:
                soft["colours"] = list(others + that_way)
            reading.relative_colour = None
        if reading.relative_colour and not hard["colours"]:  # "something pastel": prefer that band of colours
            soft["colours"] = list(self.colours.band(reading.relative_colour))

        if named_off := reading.excluded.get("colours"):
            reading.excluded["colours"] = named_shades(named_off, self.vocab.colours, hard["colours"])
        reading.excluded["article_types"] = each_its_own(hard["article_types"], reading.excluded.get("article_types", []),
                                                         reading.phrases.get("exclude_article_types", ()))

        def kept(facet: str) -> tuple[str, ...]:
            return tuple(x for x in hard[facet] if x not in reading.excluded.get(facet, ()))

        def dropped(facet: str) -> tuple[str, ...]:
            return tuple(x for x in reading.excluded.get(facet, ()) if x not in kept(facet))

        filt = ProductFilter(colours=kept("colours"), article_types=kept("article_types"),
                             genders=kept("genders"), usages=kept("usages"),
                             min_price=prices.min_price, max_price=prices.max_price,
                             exclude_colours=dropped("colours"), exclude_usages=dropped("usages"),
                             exclude_article_types=dropped("article_types"))
        soft_filter = open_facets(ProductFilter(**{f: tuple(soft[f]) for f in FACETS}),
                                  ProductFilter(**{f: tuple(hard[f]) for f in FACETS}))
        words = tuple(dict.fromkeys(w for w in leftover if w not in FILLER_WORDS and len(w) > 2 and not w.isdigit()
                                    and not NEGATION.fullmatch(w)))  # "nothing formal": the cue is not a description
        if reading.child and not set(hard["genders"]) & CHILDREN:  # who it is for is no filter: a pull
            words += ("kids",)
        semantic = " ".join([*filt.colours, *words, *filt.article_types, *soft_filter.article_types, *filt.usages,
                             *soft_filter.usages, *filt.genders]) or "product"
        matched = {k: tuple(v) for k, v in reading.phrases.items()}
        if prices.phrases:
            matched["price"] = tuple(prices.phrases)
        return ParsedQuery(text=text, filter=filt, semantic_text=semantic, matched=matched, soft=soft_filter,
                           sort=prices.sort, relative_colour=reading.relative_colour,
                           absolute_colour=reading.absolute_colour and reading.relative_colour is not None,
                           relative_price=prices.relative, price_factor=prices.factor, clear_price=prices.clear,
                           complement=bool(COMPLEMENT.search(norm)), confidence=dict(reading.confidence),
                           free_words=words[:8], reference_types=tuple(reading.reference_types))

    def shift_colours(self, colours: tuple[str, ...], direction: str, asked: bool = False) -> tuple[str, ...]:
        """Catalog colours ``direction`` ("darker", "pastel", ...) of ``colours`` (a photo's, the
        products shown, or ``asked`` by the shopper). Toning down ("not so loud") also takes the
        catalog's quiet colours: a calmer version of this colour, or any calm one. An asked colour
        stays when no shade of it lies that way: the catalog's Blue holds the paler blues when its
        only lighter blue is Turquoise ("a paler blue" reads the same way)."""
        moved = self.colours.shifted(colours, direction)
        if direction == "muted":
            moved = tuple(dict.fromkeys(moved + tuple(c for c in self.colours.band("muted", 10) if c not in colours)))
        if asked and moved:  # ...but white made "more colourful" is no longer white
            moved = tuple(c for c in colours if not any(self.colours.is_shade(c, m) for m in moved)
                          and not (direction == "brighter" and self.colours.is_neutral(c))) + moved
        return moved


def _read_relative(text: str, m: re.Match, direction: str, reading: _Reading) -> None:
    """A kind of colour or a move ("brighter", "pastel"), turned round when negated or complained of
    ("not so bright", "this is too loud": toned down)."""
    negated = NEGATION.search(window_before(text, m.start(), words=2)) or too_before(text, m.start())
    reading.relative_colour = OPPOSITE.get(direction, direction) if negated else direction
    # "bright" names a kind of colour; "more colourful", like "brighter", a move from one
    reading.absolute_colour = m.group(1) in ABSOLUTE_COLOUR and not MORE.search(text[:m.start()]) and not negated
    reading.relative_end = m.end()
    reading.phrases.setdefault("relative", []).append(m.group(1))


def _unit(vecs) -> np.ndarray:
    vecs = np.asarray(vecs, np.float32)
    return vecs / (np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-8)
