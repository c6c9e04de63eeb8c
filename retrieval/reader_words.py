"""The request reader's cue words and patterns: who the shopper means by a pronoun, style words,
relative colours, negation, complement and reference cues, ages, and the words fuzzy matching
leaves alone. Kept apart from :mod:`retrieval.reader`'s logic; the value tables (types, colours,
people, occasions) are in :mod:`retrieval.vocabulary` and :mod:`retrieval.concepts`."""

from __future__ import annotations

import re

from retrieval.colours import carries_name
from retrieval.concepts import ADULT_AGE, CATEGORY_KINDS, GROWN_AGE, GROWN_UP
from retrieval.vocabulary import FILLER_WORDS

PRONOUNS = {"her": ("Women",), "she": ("Women",), "hers": ("Women",), "him": ("Men",), "he": ("Men",),
            "his": ("Men",)}
STYLE = {"dressy": ("Formal", "Party"), "dressier": ("Formal", "Party"), "dressed up": ("Formal", "Party"),
         "fancy": ("Party", "Formal"), "classy": ("Formal", "Party"), "elegant": ("Formal", "Party"),
         "smarter": ("Formal", "Smart Casual"), "more formal": ("Formal",), "less formal": ("Casual",),
         "more casual": ("Casual",), "relaxed": ("Casual",), "laid back": ("Casual",), "chill": ("Casual",),
         "chiller": ("Casual",), "chilled": ("Casual",), "low key": ("Casual",), "sportier": ("Sports",)}
RELATIVE_COLOUR = {"darker": "darker", "deeper": "deeper", "richer": "deeper", "lighter": "lighter",
                   "paler": "lighter", "pale": "lighter", "softer": "muted", "brighter": "brighter", "bright": "brighter",
                   "colourful": "brighter", "colorful": "brighter", "loud": "brighter", "vibrant": "brighter", "vivid": "brighter",
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
ABSOLUTE_COLOUR = frozenset({"bright", "loud", "colourful", "colorful", "vibrant", "vivid", "pastel", "pastels", "pale", "muted",
                             *BAND_PHRASES})
NEGATION = re.compile(r"\b(?:not|no|none|never|except|without|(?:aren|isn|don|doesn|didn|wasn|weren|won|can|couldn|"
                      r"shouldn|wouldn|haven|hasn|ain) ?t|but not|anything but|everything but|nothing|avoid|hates?|"
                      r"dislikes?|don ?t (?:like|want)|doesn ?t (?:like|want)|no more|sick of|tired of|other than|"
                      r"instead of|rather than|anything except|can ?t stand|allergic to|skip|leave out|done with|fed up (?:of|with)|"
                      r"bored (?:of|with)|had enough of|hurts? in|refuses?|refusing|refused|won ?t wear|wont wear)\b")
TOO = re.compile(r"\b(?:too|overly) $")  # before a colour: "too neon for me", "too pink"


def too_before(text: str, pos: int) -> bool:
    """"too" or "overly" just before ``pos``: "too neon for me" asks for less of it."""
    return bool(TOO.search(text[max(0, pos - 8):pos]))
# said after the thing: "heels kill my feet", "pink is not my thing", "sneakers are out"
NEGATED_AFTER = re.compile(r" (?:(?:(?:is|are|r|s) )?(?:(?:kill(?:s|ing)?|hurts?|hurting|pinch(?:es)?)(?: (?:my|her|his|me|the))?"
                           r"(?: (?:feet|foot|toes|back|ears|neck|skin))?|(?:so |just )?not (?:for me|my thing|my style|my vibe|it)|"
                           r"(?:a )?no go|(?:so |too )?(?:boring|overdone)|(?:(?:way |much )?too|so) (?:dark|light|bright|loud|dull|pale|"
                           r"flashy|shiny|plain))|(?:is|are|r) (?:out|a no)|"
                           r"(?:gets?|getting|looks?) (?:dirty|grubby|stained)(?: (?:so |too |very )?(?:fast|quickly|easily))?|"
                           r"shows? (?:the )?(?:dirt|stains?|marks)|"
                           r"stains? (?:so |too )?easily)\b")  # "navy is too dark", "grey gets dirty so fast"
COMPLEMENT = re.compile(r"\b(?:go(?:es)?(?: \w+)? (?:with|w|under)|wear(?:s|ing)?(?: \w+)? (?:with|w|under|over)|pairs?(?: \w+)? with|pairs? well|"
                        r"match(?:es)?(?: \w+)? with|to match|matching|complete (?:the|this|that|my|your) (?:look|outfit)|"
                        r"complements?|team(?: \w+)? with|style(?: \w+)? with)\b")
# "these jeans", "this polo", "than this dress": a kind named as the thing of reference, not the one wanted
DEMONSTRATIVE = re.compile(r"(?:\b(?:this|these|that|those|same|my|your)(?: (?:kind|sort|type|style) of)?(?: \w+)?|\bthan (?:this|these|that|those|"
                           r"the|my|your)?(?: \w+)?|\b(?:with|w) (?:her|his|their)(?: \w+)?) ?$")  # "to go w her lehenga"
# Kind words that also name a cloth: before another kind they say what it is made of ("denim jacket", "woolly hat")
MATERIAL_KINDS = frozenset({"denim", "woolly", "jersey"})
THEY = re.compile(r"\b(?:it|them|they|these|those)\b")  # in a complement cue: "he wears them with loafers"
COMPARATIVE = re.compile(r"\bthan (?:this|these|that|those|the|my|your)?(?: \w+)? ?$")
SELF = re.compile(r"\b(?:i ?m|i am|im|as|being|for me|for myself|myself) (?:a |an )?(man|guy|male|dude|bloke|woman|girl|female|lady|f|m)\b")
AGE = re.compile(r"\b(\d{1,2})[ -]?(?:years?|yrs?|yr|y)[ -]?old\b|\b(\d{1,2}) ?yo\b|\baged? (\d{1,2})\b")
GENERIC = ("clothes", "outfit", "wear", "item", "thing", "gift", "style", "fashion", "fabric", "cotton", "leather",
           "denim", "silk", "wool", "comfortable", "stylish", "cute", "nice", "warm", "colour", "size", "party", "office")
FUZZY_SKIP = set("""hate hates hated love loves likes wants needs about again also another anything around back best better bigger black brand bright cheap
cheaper cheapest classic clean color colour comfy comfortable could cute dark deep different dress dressy easy
either else enough even every fancy fine first found going good great have having here into just kind large later
least less light like little long looking lovely maybe more most much nice nicer only other others pair please
plain pretty quite really same second shade short show simple since size small smart some something soft sort still tight
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
    before = [w.replace("_", " ") if "_" in w else w for w in head.replace(",", " ").split()[-words:]]
    for stop in ("but", "and", "just", "only", "prefer", "preferably", "rather", "maybe", "perhaps", "instead", "actually"):
        if stop in before:
            before = before[len(before) - before[::-1].index(stop):]
    return " ".join(before)


# what joins two phrases of one facet under one negation ("not jeggings or leggings"); other words end it
_LIST_JOIN = re.compile(r"(?:(?:or|nor|and)(?: even| any| no)?)?")
_LIST_END = re.compile(r"[a-z ]*? (?:or|nor|and) ")  # the kind after a comma, then "or"/"and" before the next comma


def negation_since(text: str, prev: tuple[int, str | None], facet: str, start: int) -> int:
    """Where a negation before the phrase at ``start`` may be looked for: after the last phrase
    (``prev``: its end and facet) when that was another facet ("no heels, black flats") or the same
    facet with other words between ("no jeggings, proper jeans"); else from the start ("not
    jeggings or leggings")."""
    if prev[1] is None:
        return 0
    join = text[prev[0]:start].strip()
    if prev[1] == facet and (_LIST_JOIN.fullmatch(join) or (join == "," and _LIST_END.match(text[start:]))):
        return 0  # "no heels, wedges or platforms": a list; "no heels, flats please": a new clause
    return prev[0]


# "a couple (of) shades deeper", "two shades lighter": the move, not sunglasses
SHADES_MOVE = re.compile(r"\b(?:a )?(?:(?:couple|few|one|two|three)(?: of)? )?shades? (darker|deeper|lighter|paler|brighter)\b")
SHADE_OF = re.compile(r"\b(dark|darker|deep|deeper|light|lighter|pale|paler|bright|brighter)(?: (?:shade|tone|version|hue)) of\b")


def says_colours(text: str, start: int, end: int, prev: tuple[int, str | None, bool], colours_said: int,
                 other_kind: bool) -> bool:
    """Whether "shades" at ``start``..``end`` names colours, not sunglasses: "shades of blue"; or right
    after colour words when the colours are a list ("purple or lilac shades"), follow "in" ("in pastel
    shades") or another kind is named ("kurtis in pastel shades"). "red shades" alone stays sunglasses."""
    if text.startswith(" of ", end):
        return True
    after_colour = prev[1] in ("colours", "relative") and not text[prev[0]:start].strip()
    return after_colour and (colours_said >= 2 or other_kind or bool(re.search(r"\bin (?:\w+ ){1,4}$", text[:start])))


def each_its_own(wanted: list[str], excluded: list[str], negated_phrases) -> list[str]:
    """``excluded`` kinds without those also ``wanted`` that a negated word does not name itself: "only
    proper kurtas, not the short kurtis", where both words take both kinds, excludes kurtis alone."""
    overlap = set(wanted) & set(excluded)
    own = {v for p in negated_phrases for v in overlap if normalise(v) in (p, p + "s", p.removesuffix("s"))}
    return [x for x in excluded if x not in overlap or x in own] if own and own != overlap else excluded


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


TEXTING = {"n": "and", "btwn": "between", "wmn": "women", "wmns": "women"}  # as texted: "white n cream", "btwn 20 and 30"
_TEXTED = re.compile(r"\b(?:" + "|".join(TEXTING) + r")\b")


def normalise(text: str) -> str:
    """Lower case, a possessive dropped ("men's" -> "men", "winter's coming"), "t-shirt" -> "tshirt",
    punctuation as spaces but a comma, semicolon, "!" or "?" between words kept as a ``,`` word:
    a clause ends there ("heels kill my feet, flats pls"); see ``negation_since``."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # "1,000"
    text = re.sub(r"\s*[,;!?]+(?=\s*\S)", " , ", text)
    text = re.sub(r"'s\b", "", text.lower().replace("’", "'")).replace("'", " ")
    text = re.sub(r"t-shirts?", lambda m: "tshirts" if m.group(0).endswith("s") else "tshirt", text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    text = re.sub(r"\b(any|some|no|every)thin\b", r"\1thing", text)  # typed without the g: "anythin but black"
    text = re.sub(r"[^a-z0-9$.<>=\-, ]+", " ", text)
    text = _TEXTED.sub(lambda m: TEXTING[m.group(0)], text)
    return re.sub(r"\s+", " ", text).strip(" ,")


def tokens(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in re.finditer(r"[a-z0-9$.]+", text)]


def named_shades(named: list[str], catalog: tuple[str, ...], wanted: list[str]) -> list[str]:
    """The colours ``named`` as not wanted, with the catalog's colours that carry the name ("no grey":
    nor grey melange; "no brown": nor coffee brown), but never one ``wanted`` ("not blue, navy")."""
    return list(dict.fromkeys(named + [c for c in catalog if c not in wanted and any(carries_name(x, c) for x in named)]))


def occasion_usages(said: list[tuple[str, ...]], preferred: list[str]) -> list[str]:
    """The usages preferred, less Casual when it came only from an everyday occasion beside a
    particular one ("he plays tennis on weekends": for sport)."""
    if not any(set(u) - {"Casual"} for u in said):
        return preferred
    particular = {x for u in said if set(u) - {"Casual"} for x in u}
    return [u for u in preferred if u != "Casual" or u in particular]


def grown_up(genders: list[str], age: int) -> list[str]:
    """Whom an item is for, said of a child of ``age`` (at least ADULT_AGE): a teenager wears a
    child's size or an adult's, someone grown an adult's ("my 15 year old daughter": Girls, Women)."""
    grown = [GROWN_UP.get(g, g) for g in genders]
    return list(dict.fromkeys((genders if age < GROWN_AGE else []) + grown))


def may_be_typo(word: str) -> bool:
    """Whether a word no table has may be a typo of one that has (long enough, not a common word)."""
    return len(word) >= 4 and word not in FUZZY_SKIP and word not in FILLER_WORDS and not word.isdigit()
