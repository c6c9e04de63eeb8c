"""The request reader's cue words and patterns: who the shopper means by a pronoun, style words,
relative colours, negation, complement and reference cues, ages, and the words fuzzy matching
leaves alone. Kept apart from :mod:`retrieval.reader`'s logic; the value tables (types, colours,
people, occasions) are in :mod:`retrieval.vocabulary` and :mod:`retrieval.concepts`."""

from __future__ import annotations

import re

from retrieval.concepts import CATEGORY_KINDS

PRONOUNS = {"her": ("Women",), "she": ("Women",), "hers": ("Women",), "him": ("Men",), "he": ("Men",),
            "his": ("Men",)}
STYLE = {"dressy": ("Formal", "Party"), "dressier": ("Formal", "Party"), "dressed up": ("Formal", "Party"),
         "fancy": ("Party", "Formal"), "classy": ("Formal", "Party"), "elegant": ("Formal", "Party"),
         "smarter": ("Formal", "Smart Casual"), "more formal": ("Formal",), "less formal": ("Casual",),
         "more casual": ("Casual",), "relaxed": ("Casual",), "laid back": ("Casual",), "chill": ("Casual",),
         "chiller": ("Casual",), "chilled": ("Casual",), "low key": ("Casual",), "sportier": ("Sports",)}
RELATIVE_COLOUR = {"darker": "darker", "deeper": "deeper", "richer": "deeper", "lighter": "lighter",
                   "paler": "lighter", "pale": "lighter", "softer": "muted", "brighter": "brighter", "bright": "brighter",
                   "colourful": "brighter", "colorful": "brighter", "vibrant": "brighter", "vivid": "brighter",
                   "bolder": "brighter", "more vibrant": "brighter", "pastel": "pastel", "pastels": "pastel",
                   "muted": "muted", "not so loud": "muted", "less loud": "muted", "less flashy": "muted",
                   "toned down": "muted", "subtler": "muted", "more subtle": "muted", "subdued": "muted",
                   "understated": "muted", "calmer": "muted", "quieter": "muted", "less bright": "muted",
                   "less colourful": "muted", "less colorful": "muted", "duller": "muted"}
# a kind of colour said with the word colour ("in a light colour", "dark coloured", "a bit of colour")
BAND_PHRASES = {f"{word} {noun}": direction
                for word, direction in (("light", "lighter"), ("dark", "darker"), ("bit of", "brighter"),
                                        ("some", "brighter"), ("pop of", "brighter"), ("splash of", "brighter"))
                for noun in ("colour", "color", "colours", "colors", "coloured", "colored", "shade", "shades")
                if not (direction == "brighter" and noun.startswith("shade"))}
RELATIVE_COLOUR.update(BAND_PHRASES)
OPPOSITE = {"brighter": "muted", "muted": "brighter", "darker": "lighter", "lighter": "darker", "deeper": "lighter"}
# The words above that name a kind of colour (positive degree) rather than a move from one
# (comparative): "something bright" wants bright colours, "something brighter" brighter ones than these.
MORE = re.compile(r"\b(?:more|less|bit|lot|much|way|even)\s*$")  # before a colour word: a comparison
ABSOLUTE_COLOUR = frozenset({"bright", "colourful", "colorful", "vibrant", "vivid", "pastel", "pastels", "pale", "muted",
                             *BAND_PHRASES})
NEGATION = re.compile(r"\b(?:not|no|none|never|except|without|(?:aren|isn|don|doesn|didn|wasn|weren|won|can|couldn|"
                      r"shouldn|wouldn|haven|hasn|ain) ?t|but not|anything but|everything but|nothing|avoid|hates?|"
                      r"dislikes?|don ?t (?:like|want)|doesn ?t (?:like|want)|no more|sick of|tired of|other than|"
                      r"instead of|rather than|anything except|can ?t stand|allergic to|skip|leave out|done with|fed up (?:of|with)|"
                      r"bored (?:of|with)|had enough of|hurts? in)\b")
COMPLEMENT = re.compile(r"\b(?:go(?:es)?(?: \w+)? (?:with|under)|wear(?:s|ing)?(?: \w+)? (?:with|under|over)|pairs?(?: \w+)? with|pairs? well|"
                        r"match(?:es)?(?: \w+)? with|to match|matching|complete (?:the|this|that|my|your) (?:look|outfit)|"
                        r"complements?|team(?: \w+)? with|style(?: \w+)? with)\b")
# "these jeans", "this polo", "than this dress": a kind named as the thing of reference, not the one wanted
DEMONSTRATIVE = re.compile(r"(?:\b(?:this|these|that|those|same|my|your)(?: (?:kind|sort|type|style) of)?(?: \w+)?|\bthan (?:this|these|that|those|"
                           r"the|my|your)?(?: \w+)?) ?$")
# Kind words that also name a cloth: before another kind they say what it is made of ("denim jacket", "woolly hat")
MATERIAL_KINDS = frozenset({"denim", "woolly", "jersey"})
THEY = re.compile(r"\b(?:it|them|they|these|those)\b")  # in a complement cue: "he wears them with loafers"
COMPARATIVE = re.compile(r"\bthan (?:this|these|that|those|the|my|your)?(?: \w+)? ?$")
SELF = re.compile(r"\b(?:i ?m|i am|im|as|being|for me) (?:a |an )?(man|guy|male|dude|bloke|woman|girl|female|lady|f|m)\b")
AGE = re.compile(r"\b(\d{1,2})[ -]?(?:years?|yrs?|yr|y)[ -]?old\b|\b(\d{1,2}) ?yo\b|\baged? (\d{1,2})\b")
GENERIC = ("clothes", "outfit", "wear", "item", "thing", "gift", "style", "fashion", "fabric", "cotton", "leather",
           "denim", "silk", "wool", "comfortable", "stylish", "cute", "nice", "warm", "colour", "size", "party", "office")
FUZZY_SKIP = set("""hate hates hated love loves likes wants needs about again also another anything around back best better bigger black brand bright cheap
cheaper cheapest classic clean color colour comfy comfortable could cute dark deep different dress dressy easy
either else enough even every fancy fine first found going good great have having here into just kind large later
least less light like little long looking lovely maybe more most much nice nicer only other others pair please
plain pretty quite really same second shade short show simple since size small smart some something soft sort still
style such summer sure than thanks that their them then there these thing things think third this those very want
wear wearing what when where which while with without would year years your""".split())


def narrowest_types(type_groups: list[tuple[str, ...]], types: list[str], text: str) -> list[str]:
    """A kind named beside a word for a whole category of kinds ("trunk underwear", "sneakers
    shoes") is that kind: the category's other kinds are dropped. Kinds named side by side stay
    ("tshirts and jeans"), and so do two readings of one thing ("wedge sandals": women's wedge
    sandals are filed as heels or sandals, so "wedge" is no category), and kinds said as
    alternatives ("kurta or kurti")."""
    groups = [set(g) for g in type_groups]
    broader = [g for g in groups if len(g) >= CATEGORY_KINDS and any(o < g for o in groups)]
    if not broader or re.search(r"\bor\b", text):
        return types
    keep = set().union(*(g for g in groups if g not in broader))
    return [t for t in types if t in keep]


def window_before(text: str, start: int, words: int = 4) -> str:
    """The few words before a colour, up to a clause boundary ("not black, but white")."""
    head = re.sub(r"\b(anything|everything|all|but) (but|not)\b", r"\1_\2", text[:start])
    before = [w.replace("_", " ") if "_" in w else w for w in head.split()[-words:]]
    for stop in ("but", "and", "just", "only", "prefer", "preferably", "rather", "maybe", "perhaps", "instead", "actually"):
        if stop in before:
            before = before[len(before) - before[::-1].index(stop):]
    return " ".join(before)


# what joins two phrases of one facet under one negation ("not jeggings or leggings"); other words end it
_LIST_JOIN = re.compile(r"(?:(?:or|nor|and)(?: even| any| no)?)?")


def negation_since(text: str, prev: tuple[int, str | None], facet: str, start: int) -> int:
    """Where a negation before the phrase at ``start`` may be looked for: after the last phrase
    (``prev``: its end and facet) when that was another facet ("no heels, black flats") or the same
    facet with other words between ("no jeggings, proper jeans"); else from the start ("not
    jeggings or leggings")."""
    if prev[1] is None or (prev[1] == facet and _LIST_JOIN.fullmatch(text[prev[0]:start].strip())):
        return 0
    return prev[0]


# "a couple (of) shades deeper", "two shades lighter": the move, not sunglasses
SHADES_MOVE = re.compile(r"\b(?:a )?(?:(?:couple|few|one|two|three)(?: of)? )?shades? (darker|deeper|lighter|paler|brighter)\b")
SHADE_OF = re.compile(r"\b(dark|darker|deep|deeper|light|lighter|pale|paler|bright|brighter)(?: (?:shade|tone|version|hue)) of\b")


def rejoin(text: str, kinds: set[str]) -> str:
    """A kind's one word typed as two ("ear rings", "sun glasses": both halves may be words the
    table knows, so the pair is joined only when the whole is a kind's name), and a colour moved
    in a roundabout way ("a darker shade of red") said plainly ("a darker red")."""
    words = SHADES_MOVE.sub(r"\1", SHADE_OF.sub(r"\1", text)).split()
    out: list[str] = []
    for word in words:
        if out and out[-1] + word in kinds and out[-1].isalpha() and word.isalpha():
            out[-1] += word
        else:
            out.append(word)
    return " ".join(out)


def place_reference(norm: str, wanted: list[str], reference: list[str], only_reference: list[str]) -> list[str]:
    """The kinds wanted, given ``wanted`` (read as wanted) and the kinds named as the thing of reference
    ("this shirt"): a reference kind is wanted only when the message names no other and asks for no
    complement or comparison ("same shirt, deeper colour"); "a tie for this shirt", "what goes with
    these shoes", "dressier than these jeans" want another kind."""
    if not reference:
        return wanted
    others = [t for t in wanted if t not in reference]
    return others if others or COMPLEMENT.search(norm) or only_reference else list(dict.fromkeys(wanted + reference))


def modifier_kinds(kinds: list[tuple[int, int, str, tuple[str, ...]]], text: str) -> set[str]:
    """The kinds named only as what another is made of or like: a cloth's word right before a kind
    ("denim jacket", "woolly hat") or any kind right before "dress" ("shirt dress"); ``kinds``: the
    kind phrases read, in order, as (start, end, phrase, kinds)."""
    out: set[str] = set()
    for (_, end, first, made_of), (start, _, head, kind) in zip(kinds, kinds[1:]):
        if not text[end:start].strip() and (first in MATERIAL_KINDS or head in ("dress", "dresses")):
            out |= set(made_of) - set(kind)
    return out
