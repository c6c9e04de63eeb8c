"""Training examples for the request reader, stage 2's second task (text only): the request in
force and one shopper message -> what the message asks for, as the JSON the reader's grammar
admits (:class:`adapters.mllm.request_update.RequestUpdate`, compact, catalog values only).

Built from the catalog's vocabulary and the project's word tables (``retrieval.vocabulary``,
``retrieval.concepts``, the CIELAB colour words of ``retrieval.colours``: one home for what a
word means) with the message templates written here: leads, budgets, negations, moves, "goes
with", small talk, and typos. Never from ``bench/understanding`` (the hand-written evaluation).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import replace

from adapters.mllm.prompts import request_update_prompt
from adapters.mllm.request_update import RequestUpdate
from finetune.data_mllm import Example
from retrieval.colours import WORD_RGB, colour_space
from retrieval.concepts import OCCASIONS, PEOPLE, TYPE_WORDS, USAGE_WORDS
from retrieval.filters import ProductFilter
from retrieval.query_parser import phrase_forms
from retrieval.reader_words import RELATIVE_COLOUR
from retrieval.vocabulary import COLOUR_SYNONYMS, GENDER_SYNONYMS, TYPE_SYNONYMS, USAGE_SYNONYMS, Vocabulary

logger = logging.getLogger(__name__)

Phrases = list[tuple[str, tuple[str, ...]]]

LEADS = ("", "", "", "i want", "i need", "looking for", "show me", "do you have", "any", "got any", "find me",
         "can i see", "i'm after", "i would like", "searching for", "need", "want", "something like")
TAILS = ("", "", "", "", " please", " pls", "?", " thanks", " for me", " if you have them")
MAX_TEMPLATES = ("under {n}", "below ${n}", "less than {n} dollars", "no more than {n}", "max {n}", "up to {n}",
                 "{n} or less", "at most ${n}", "within {n} bucks", "budget {n}", "not over {n}", "cheaper than {n}")
MIN_TEMPLATES = ("over {n}", "above ${n}", "more than {n} dollars", "at least {n}", "{n} or more", "starting at {n}")
RANGE_TEMPLATES = ("between {a} and {b}", "{a}-{b}", "from {a} to {b} dollars", "${a} to ${b}")
APPROX_TEMPLATES = ("around {n}", "about ${n}", "roughly {n} dollars", "{n} give or take")
NOT_TEMPLATES = ("not {x}", "anything but {x}", "no {x} please", "nothing {x}", "i don't want {x}", "except {x}",
                 "avoid {x}", "i hate {x}", "but not {x}")
NOT_USAGE_TEMPLATES = ("not for {x}", "nothing {x}", "not {x}")
LOWER = ("cheaper", "something cheaper", "less expensive", "more affordable", "too expensive", "cheaper ones please",
         "a bit less pricey", "lower price", "that's too much money", "on a budget")
HIGHER = ("more expensive", "pricier", "something higher end", "more premium", "show me pricier ones", "luxury")
CHEAPEST = ("the cheapest {t}", "cheapest {t} first", "{t} sorted by price", "lowest price {t}",
            "least expensive {t}")
COMPLEMENT = ("something to wear with this", "what goes with this", "{t} to go with this", "{t} to match this",
              "{t} that pair well with this", "complete the look", "what would match this")
NOTHING = ("show me more", "ok", "thanks", "more please", "nice", "hmm not sure", "what else do you have",
           "other options", "let me see more", "cool")
NUMBER_WORDS = {10: "ten", 15: "fifteen", 20: "twenty", 25: "twenty five", 30: "thirty", 40: "forty", 50: "fifty",
                60: "sixty", 75: "seventy five", 100: "a hundred"}
KIND_WEIGHTS = {"new": 30, "colour": 10, "gender": 8, "usage": 7, "price": 10, "exclude": 8, "price_move": 5,
                "colour_move": 5, "cheapest": 4, "complement": 4, "nothing": 3, "type": 6}


def _kept(table: dict[str, tuple[str, ...]], values: Sequence[str]) -> Phrases:
    out = []
    for phrase, vals in table.items():
        present = tuple(v for v in vals if v in values)
        if present:
            out.append((phrase, present))
    return out


class RequestPhrases:
    """What a shopper may call each catalog value, from the project's tables (catalog values only)."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        names = [(form, (t,)) for t in vocab.article_types for form in sorted(phrase_forms(t))]
        self.types: Phrases = names + _kept({**TYPE_SYNONYMS, **TYPE_WORDS}, vocab.article_types)
        space = colour_space(vocab.colours)
        # the hand-written fashion words only: the colour survey's 900 names would swamp the catalog's own
        words = {w: c for w, c in space.word_colours.items() if w in WORD_RGB}
        self.colours: Phrases = [(c.lower(), (c,)) for c in vocab.colours] * 3 + \
            _kept({**COLOUR_SYNONYMS, **words}, vocab.colours)
        people = _kept({**GENDER_SYNONYMS, **PEOPLE}, vocab.genders)
        self.genders: Phrases = [(f"for {p}", v) for p, v in people if len(p) > 3] + \
            [(f"for my {p}", v) for p, v in _kept(PEOPLE, vocab.genders) if p not in ("her", "him", "guys", "lady")] + \
            [(f"for {g.lower()}", (g,)) for g in vocab.genders] * 3
        self.usages: Phrases = [(u.lower(), (u,)) for u in vocab.usages] * 2 + \
            _kept({**USAGE_SYNONYMS, **USAGE_WORDS}, vocab.usages)
        self.occasions: Phrases = [(f"for {'a ' if _takes_article(o) else ''}{o}",
                                    tuple(u for u in us if u in vocab.usages))
                                   for o, (us, _) in OCCASIONS.items() if any(u in vocab.usages for u in us)]


def _takes_article(occasion: str) -> bool:
    return occasion in ("wedding", "party", "meeting", "interview", "conference", "presentation", "festival",
                        "night out", "date night", "dinner", "brunch", "trip", "holiday", "vacation", "reception")


def _price(rng: random.Random) -> int:
    return rng.choice((10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 80, 100, 120, 150))


def _num(n: int, rng: random.Random) -> str:
    return NUMBER_WORDS[n] if n in NUMBER_WORDS and rng.random() < 0.25 else str(n)


def price_phrase(rng: random.Random) -> tuple[str, dict]:
    """A budget phrase and the slots it fills."""
    kind = rng.choices(("max", "min", "range", "approx"), (6, 2, 2, 1))[0]
    n = _price(rng)
    if kind == "max":
        return rng.choice(MAX_TEMPLATES).format(n=_num(n, rng)), {"max_price": float(n)}
    if kind == "min":
        return rng.choice(MIN_TEMPLATES).format(n=_num(n, rng)), {"min_price": float(n)}
    if kind == "range":
        a, b = sorted(rng.sample((10, 15, 20, 25, 30, 40, 50, 60, 80, 100), 2))
        return rng.choice(RANGE_TEMPLATES).format(a=a, b=b), {"min_price": float(a), "max_price": float(b)}
    return rng.choice(APPROX_TEMPLATES).format(n=n), {"min_price": round(n * 0.75, 2), "max_price": round(n * 1.25, 2)}


def typo(word: str, rng: random.Random) -> str:
    """One slip of the keyboard in a long enough word: a letter dropped, doubled or swapped."""
    if len(word) < 5 or " " in word:
        return word
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(("drop", "double", "swap"))
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def current_request(phrases: RequestPhrases, rng: random.Random) -> ProductFilter:
    """A request in force before the message (empty a third of the time)."""
    v = phrases.vocab
    if rng.random() < 0.35:
        return ProductFilter()
    f = ProductFilter(article_types=(rng.choice(v.article_types),))
    if rng.random() < 0.5:
        f = replace(f, colours=(rng.choice(v.colours),))
    if rng.random() < 0.5:
        f = replace(f, genders=(rng.choice(("Men", "Women", "Boys", "Girls")),))
    if rng.random() < 0.3:
        f = replace(f, max_price=float(_price(rng)))
    return f


def new_request(p: RequestPhrases, rng: random.Random) -> tuple[str, dict]:
    """A whole request: a kind of item with some of colour, usage, who for, budget, an exclusion."""
    t_phrase, types = rng.choice(p.types)
    slots: dict = {"article_types": types}
    words = [typo(t_phrase, rng) if rng.random() < 0.12 else t_phrase]
    if rng.random() < 0.55:
        c_phrase, colours = rng.choice(p.colours)
        words.insert(0, typo(c_phrase, rng) if rng.random() < 0.08 else c_phrase)
        slots["colours"] = colours
    if rng.random() < 0.25:
        u_phrase, usages = rng.choice(p.usages)
        words.insert(len(words) - 1, u_phrase)
        slots["usages"] = usages
    if rng.random() < 0.5:
        g_phrase, genders = rng.choice(p.genders)
        words.append(g_phrase)
        slots["genders"] = genders
    elif rng.random() < 0.15 and p.occasions:
        o_phrase, usages = rng.choice(p.occasions)
        words.append(o_phrase)
        slots.setdefault("usages", usages)
    if rng.random() < 0.35:
        phrase, prices = price_phrase(rng)
        words.append(phrase)
        slots.update(prices)
    if rng.random() < 0.1 and "colours" not in slots:
        c_phrase, colours = rng.choice(p.colours)
        words.append(rng.choice(NOT_TEMPLATES).format(x=c_phrase))
        slots["exclude_colours"] = colours
    lead = rng.choice(LEADS)
    return " ".join(w for w in (lead, *words) if w), slots


def refinement(kind: str, p: RequestPhrases, rng: random.Random) -> tuple[str, dict]:
    """A message that changes one thing about the request in force."""
    if kind == "colour":
        phrase, colours = rng.choice(p.colours)
        tpl = rng.choice(("in {x}", "do you have it in {x}", "{x} please", "what about {x}", "{x} instead",
                          "same but {x}", "{x} ones", "make it {x}", "any in {x}"))
        return tpl.format(x=phrase), {"colours": colours}
    if kind == "gender":
        phrase, genders = rng.choice(p.genders)
        return rng.choice(("{x}", "now {x}", "same {x}", "what about {x}", "and {x}?")).format(x=phrase), \
            {"genders": genders}
    if kind == "usage":
        if rng.random() < 0.5 and p.occasions:
            phrase, usages = rng.choice(p.occasions)
            return rng.choice(("something {x}", "{x}", "i need it {x}")).format(x=phrase), {"usages": usages}
        phrase, usages = rng.choice(p.usages)
        return rng.choice(("{x} ones", "more {x}", "something {x}", "a {x} one")).format(x=phrase), {"usages": usages}
    if kind == "type":
        phrase, types = rng.choice(p.types)
        return rng.choice(("what about {x}", "{x} instead", "show me {x}", "and {x}?", "i'd rather have {x}")
                          ).format(x=phrase), {"article_types": types}
    if kind == "price":
        phrase, prices = price_phrase(rng)
        tpl = rng.choice(("{x}", "only {x}", "keep it {x}", "something {x}", "my budget is {x}"))
        return tpl.format(x=phrase), prices
    if kind == "exclude":
        which = rng.choice(("colours", "colours", "article_types", "usages"))
        table = {"colours": p.colours, "article_types": p.types, "usages": p.usages}[which]
        phrase, values = rng.choice(table)
        tpl = rng.choice(NOT_USAGE_TEMPLATES if which == "usages" else NOT_TEMPLATES)
        return tpl.format(x=phrase), {f"exclude_{which}": values}
    if kind == "price_move":
        up = rng.random() < 0.35
        return rng.choice(HIGHER if up else LOWER), {"price_move": "higher" if up else "lower"}
    if kind == "colour_move":
        phrase, direction = rng.choice(list(RELATIVE_COLOUR.items()))
        tpl = rng.choice(("{x}", "something {x}", "a {x} shade", "{x} please", "in a {x} colour", "can it be {x}"))
        return tpl.format(x=phrase), {"colour_move": direction}
    if kind == "cheapest":
        phrase, types = rng.choice(p.types)
        return rng.choice(CHEAPEST).format(t=phrase), {"cheapest_first": True, "article_types": types}
    if kind == "complement":
        tpl = rng.choice(COMPLEMENT)
        if "{t}" not in tpl:
            return tpl, {"goes_with": True}
        phrase, types = rng.choice(p.types)
        return tpl.format(t=phrase), {"goes_with": True, "article_types": types}
    return rng.choice(NOTHING), {}


def request_example(p: RequestPhrases, rng: random.Random) -> Example:
    """One training example: the prompt the reader sends (after :data:`READER_SYSTEM_PROMPT`), and
    the JSON it should get back."""
    kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
    message, slots = new_request(p, rng) if kind == "new" else refinement(kind, p, rng)
    message = (message + rng.choice(TAILS)).strip()
    if rng.random() < 0.1:
        message = message.capitalize()
    update = RequestUpdate(**{k: tuple(v) if isinstance(v, (tuple, list)) else v for k, v in slots.items()})
    request = current_request(p, rng).describe()
    return Example((), request_update_prompt(request, message), update.to_json())


def request_examples(vocab: Vocabulary, count: int, rng: random.Random) -> list[Example]:
    """``count`` examples over ``vocab`` (duplicates of one prompt are dropped)."""
    p = RequestPhrases(vocab)
    out, seen = [], set()
    for _ in range(count * 2):
        ex = request_example(p, rng)
        if ex.question not in seen:
            seen.add(ex.question)
            out.append(ex)
        if len(out) == count:
            break
    return out
