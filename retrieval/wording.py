"""Plain English for product sentences, shared by the assistant's checks and the training
targets: noun phrases with the right article and number, and finding and fixing agreement
errors in what the model wrote.

The catalog names article types in the plural ("Tshirts", "Casual Shoes", "Watches"), so
a sentence built or learned from the record reads "a red tshirts" or "a black casual
shoes". :func:`noun_phrase` gives the singular ("a red T-shirt"), "a pair of" for things
that come in pairs ("a pair of black casual shoes"), and "an" before a vowel sound;
:func:`fix_agreement` repairs the same errors in written text. Pure functions, no model.
"""

from __future__ import annotations

import logging
import re

from retrieval.catalog import Product

logger = logging.getLogger(__name__)

# Things a shopper buys as a pair: "a pair of ...", never "a jeans".
PAIR_WORDS = frozenset({
    "shoes", "sneakers", "trainers", "sandals", "flip flops", "flipflops", "slippers", "heels", "flats", "socks",
    "jeans", "jeggings", "trousers", "shorts", "pants", "capris", "leggings", "sunglasses", "glasses", "briefs",
    "boxers", "stockings", "tights", "gloves", "booties", "boots", "earrings", "cufflinks", "chinos", "joggers",
    "pyjamas", "suspenders", "loafers", "mules", "track pants", "lounge pants", "lounge shorts", "night suits",
})
# Catalog types whose singular is not the plural minus its ending, or that are one thing.
SINGULAR = {"tshirts": "T-shirt", "t-shirts": "T-shirt", "t shirts": "T-shirt",
            "perfume and body mist": "perfume", "necklace and chains": "necklace", "innerwear vests": "vest",
            "kurta sets": "kurta set", "accessory gift set": "accessory gift set", "dresses": "dress",
            "watches": "watch", "clutches": "clutch", "mobile pouch": "mobile pouch", "waist pouch": "waist pouch",
            "compact": "compact powder", "nightdress": "nightdress", "swimwear": "swimsuit", "bra": "bra",
            "bath robe": "bath robe", "salwar and dupatta": "salwar and dupatta set", "lehenga choli": "lehenga choli"}
MASS_WORDS = frozenset({"lipstick", "nail polish", "lip gloss", "kajal and eyeliner", "foundation and primer",
                        "highlighter and blush", "eyeshadow", "mascara", "concealer", "sunscreen", "deodorant",
                        "face wash and cleanser", "face moisturisers", "hair colour", "toner", "body lotion",
                        "lip care", "lip liner", "lip plumper", "mask and peel", "face serum and gel",
                        "face scrub and exfoliator"})
_VOWEL_SOUND = re.compile(r"^(?:[aeio]|u(?!ni|se|su|ti|ro|ra|ku)|hour|honest|heir)", re.I)
_SINGULAR_S = frozenset({"dress", "glass", "bus", "lens", "canvas", "dupatta", "chinos"})


def is_pair(noun: str) -> bool:
    words = noun.lower().split()
    return bool(words) and (" ".join(words) in PAIR_WORDS or words[-1] in PAIR_WORDS)


def is_plural(noun: str) -> bool:
    """A plural noun (or a pair word, which takes "a pair of")."""
    noun = noun.lower().strip()
    if not noun:
        return False
    if noun in SINGULAR and SINGULAR[noun].lower() != noun:
        return True
    last = noun.split()[-1]
    return is_pair(noun) or (last.endswith("s") and not last.endswith("ss") and last not in _SINGULAR_S
                             and noun not in MASS_WORDS)


def singular(noun: str) -> str:
    """"watches" -> "watch", "tshirts" -> "T-shirt", "handbags" -> "handbag"; pair words stay."""
    low = noun.lower().strip()
    if low in SINGULAR:
        return SINGULAR[low]
    if is_pair(low) or low in MASS_WORDS or not is_plural(low):
        return low
    words = low.split()
    last = words[-1]
    if re.search(r"(?:ch|sh|ss|x)es$", last):
        last = last[:-2]
    elif last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith("s"):
        last = last[:-1]
    return " ".join(words[:-1] + [last])


def plural(noun: str) -> str:
    """"laptop bag" -> "laptop bags", "dress" -> "dresses"; a plural, a pair word, a mass word
    ("lipstick", "shapewear") and a compound type ("salwar and dupatta") stay as they are."""
    low = noun.lower().strip()
    if not low or is_plural(low) or low in MASS_WORDS or " and " in low or low.endswith("wear"):
        return low
    words = low.split()
    last = words[-1]
    if re.search(r"(?:ch|sh|s|x)$", last):
        last += "es"
    elif re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


def either(words: list[str] | tuple[str, ...]) -> str:
    """"red", "red or blue", "red, blue or green"."""
    words = list(words)
    return " or ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} or {words[-1]}"


def article(word: str) -> str:
    """"a" or "an" for the word that follows."""
    return "an" if _VOWEL_SOUND.match(word.strip()) else "a"


def noun_phrase(product: Product, *, colour: bool = True, with_article: bool = True) -> str:
    """"a red T-shirt", "a pair of black casual shoes", "an orange watch", "lipstick"."""
    kind = (product.article_type or "product").strip()
    low = kind.lower()
    shade = (product.base_colour or "").lower() if colour else ""
    if is_pair(low):
        head = " ".join(x for x in (shade, low) if x)
        return f"a pair of {head}" if with_article else f"pair of {head}"
    noun = singular(low) if low not in MASS_WORDS else low
    head = " ".join(x for x in (shade, noun) if x)
    if not with_article or (low in MASS_WORDS and not shade):
        return head
    return f"{article(head)} {head}"


# --- agreement in written text --------------------------------------------------------
_A_WORD = re.compile(r"\b(a|an)\s+([A-Za-z][\w-]*)", re.I)
_EXEMPT_AFTER_A = frozenset({"pair", "set", "pack", "lot", "few", "couple", "range", "number", "bit"})
_IT_IS = re.compile(r"\b((?:it|this|that)\s+is|it's)\s+([A-Za-z][\w-]*)", re.I)
_THIS_WORD = re.compile(r"\b(this|that|the only)\s+([A-Za-z][\w-]*)", re.I)  # "this black casual shoes is"
_DETERMINERS = frozenset({"a", "an", "the", "one", "two", "both", "these", "those", "your", "my", "our", "their",
                          "its", "his", "her", "some", "all", "for", "from", "in", "at", "under", "over", "not",
                          "also", "perfect", "great", "ideal", "made", "designed", "available", "priced"})
_ARTICLE_EXCEPTIONS = frozenset({"one", "once", "unique", "user", "uniform", "european", "useful", "usual"})


def agreement_errors(text: str, nouns: frozenset[str]) -> list[tuple[int, int, str]]:
    """Spans of agreement errors, each (start, end, replacement): "a"/"an" before a plural
    noun of ``nouns`` (catalog type phrases, lower case), then "a" before a vowel sound or
    "an" before a consonant."""
    return number_errors(text, nouns) + article_errors(text)


def article_errors(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _A_WORD.finditer(text):
        art, word = m.group(1), m.group(2)
        want = article(word)
        if word.lower() not in _ARTICLE_EXCEPTIONS and art.lower() != want:
            out.append((m.start(1), m.end(1), want.capitalize() if art[0].isupper() else want))
    return out


def number_errors(text: str, nouns: frozenset[str]) -> list[tuple[int, int, str]]:
    """"a red tshirts" (an article before a plural type), "it is red tshirts" (a singular
    subject before one with no article), "this black casual shoes", "the only tshirts among
    them" (a singular determiner),
    and "a pair of grey tshirts" (a pair of what is not worn as a pair)."""
    out = []
    low = text.lower()
    ordered = sorted({v for n in nouns if is_plural(n) for v in _spellings(n)}, key=len, reverse=True)
    for noun in (n for n in ordered if not is_pair(n)):
        for hit in re.finditer(rf"\bpair of\s+((?:[a-z-]+\s+){{0,4}}?){re.escape(noun)}(?![a-z])", low):
            if not _NOT_MODIFIERS.search(hit.group(1)):
                out.append((hit.start(), hit.end(), f"{text[hit.start(1):hit.end(1)]}{singular(noun)}"))
    for pattern, add_article in ((_A_WORD, False), (_IT_IS, True), (_THIS_WORD, False)):
        for m in pattern.finditer(text):
            if m.group(2).lower() in _EXEMPT_AFTER_A or (add_article and m.group(2).lower() in _DETERMINERS):
                continue
            rest = low[m.end(1):m.end(1) + 60]
            for noun in ordered:
                hit = re.match(rf"\s+((?:[a-z-]+\s+){{0,4}}?){re.escape(noun)}(?![a-z])", rest)
                # the words between are the noun's modifiers: no count word, and no article,
                # conjunction or verb ("it is cheap and offers a dresses" is two phrases)
                if hit and not _NOT_MODIFIERS.search(hit.group(1)):
                    start, end = m.end(1) + hit.start(1), m.end(1) + hit.end()
                    rep = _agree(text[start:end], noun)
                    out.append((start, end, f"{article(rep)} {rep}" if add_article else rep))
                    break
    return out


def _spellings(noun: str) -> set[str]:
    """A plural type and its other spellings ("tshirts": "t-shirts", "t shirts"), as the model writes them."""
    one = SINGULAR.get(noun.lower())
    return {noun} | ({k for k, v in SINGULAR.items() if v == one} if one else set())


_NOT_MODIFIERS = re.compile(r"\b(?:pair|set|pack|one|two|both|of|a|an|the|and|or|but|with|is|are|has|have|"
                            r"offers?|comes?|makes?|gives?)\b")


def _agree(span: str, noun: str) -> str:
    """The words between the article and the noun kept, the noun made singular or a pair."""
    mods = span[: len(span) - len(noun)]
    if is_pair(noun):
        return f"pair of {mods}{noun}"
    return f"{mods}{singular(noun)}"


# "and under $2.01 under your 15": a preposition said on both sides of the amount
_DOUBLED = re.compile(r"\b(under|over|below|above)\s+(\$\d+(?:\.\d+)?)\s+\1\b", re.I)


def doubled_prepositions(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), f"{m.group(2)} {m.group(1)}") for m in _DOUBLED.finditer(text)]


# the catalog's own spellings, as a shop writes them in a sentence: "a green Tshirt for Boys"
# -> "a green T-shirt for boys" (a quoted name, "the only one with 'Tshirt' in its name", is kept)
_TSHIRT = re.compile(r"(?<!['\w-])([Tt])[- ]?shirt(s?)\b(?![-'])")
_FOR_WHOM = re.compile(r"(?<=\bfor )(Men|Women|Boys|Girls|Unisex|Kids)\b")


def style_errors(text: str) -> list[tuple[int, int, str]]:
    """Spans written in the catalog's spelling, each (start, end, the shop's spelling)."""
    out = [(m.start(), m.end(), rep) for m in _TSHIRT.finditer(text)
           if m.group(0) != (rep := f"{m.group(1).upper()}-shirt{m.group(2)}")]
    return out + [(m.start(), m.end(), m.group(1).lower()) for m in _FOR_WHOM.finditer(text)]


def shop_spelling(text: str) -> str:
    """``text`` with the catalog's spellings as a shop writes them (:func:`style_errors`)."""
    for start, end, rep in sorted(style_errors(text), key=lambda e: -e[0]):
        text = text[:start] + rep + text[end:]
    return text


def fix_agreement(text: str, nouns: frozenset[str]) -> tuple[str, list[str]]:
    """``text`` with its agreement errors repaired (number first, then "a"/"an", then a preposition
    doubled around an amount, then the catalog's spellings: "Tshirt", "for Boys"), and a note per fix.
    Fixes whose words overlap are applied one pass after another ("a tops like United Blue Tops":
    "a tops" -> "a top", then "top like United Blue Tops" -> "... top"), at most three passes."""
    notes: list[str] = []
    out = text
    for _ in range(3):
        before = out
        for find in (lambda t: number_errors(t, nouns), article_errors, doubled_prepositions, style_errors):
            done_from = len(out) + 1  # where the last fix applied began: a span reaching past it overlaps
            for start, end, rep in sorted(find(out), key=lambda e: -e[0]):  # right to left keeps spans valid
                if end > done_from:  # two rules on the same words: the first fix stands, the next pass sees the rest
                    continue
                notes.append(f"{out[start:end]!r} -> {rep!r}")
                out = out[:start] + rep + out[end:]
                done_from = start
        if out == before:
            break
    return out, notes


# --- sentences written from facts -----------------------------------------------------
def facts_line(product: Product, matches, contrasts=()) -> str:
    """One plain sentence from a product's matched facts (``explain.Match``: kind, text,
    asked) and its comparison facts (``compare.Contrast``): "A pair of black casual shoes
    for women, as you asked, at $45.99: the cheapest of the five." Every word comes from the
    record, the request or the comparison."""
    asked = {m.kind for m in matches if m.asked}
    head = noun_phrase(product, colour=bool(product.base_colour))
    if product.gender:
        head += f" for {product.gender.lower()}" if product.gender != "Unisex" else " (unisex)"
    if "usage" in asked and product.usage:
        head += f" for {product.usage.lower()} wear"
    parts = [head[0].upper() + head[1:]]
    if asked & {"colour", "article_type", "gender", "usage"}:
        parts.append(", as you asked")
    if product.price is not None:
        parts.append(f", at ${product.price:.2f}")
    extra = [m.text for m in matches if m.kind == "image"]
    extra += [f"with {m.text} in its name" for m in matches if m.kind == "words"]
    extra += [m.text for m in matches if m.kind == "feedback"]
    if extra:
        parts.append(", " + ", ".join(extra))
    said = [c.text for c in contrasts][:2]
    if said:
        parts.append(": " + " and ".join(said))
    return "".join(parts) + "."


def follow_up(product: Product, matches, contrasts=()) -> str:
    """A short second sentence with why it fits that a first one, which named the product,
    left out, and what sets it apart: "It looks like your photo and is the only one from
    Puma." (the facts line would say the product's name and price again). "" with nothing to say."""
    pair = is_pair((product.article_type or "").lower())
    be, has = ("are", "have") if pair else ("is", "has")
    bits = []
    for m in (m for m in matches if m.asked):
        if m.kind == "image":
            bits.append(m.text.replace("looks like", "look like", 1) if pair else m.text)
        elif m.kind == "words":
            bits.append(f"{has} {m.text} in {'their' if pair else 'its'} name")
        elif m.kind == "price":  # "$35.99, under 40": "is under 40, at $35.99"
            price, _, bound = m.text.partition(", ")
            bits.append(f"{be} {bound}, at {price}" if bound else f"{be} {price}")
        elif m.kind == "usage":
            bits.append(f"{be} for {m.text}")
        elif m.kind in ("colour", "gender"):
            bits.append(f"{be} {m.text}")
    bits += [f"{has if c.text.startswith('the same') else be} {c.text}" for c in contrasts[:1]]
    if not bits:
        return ""
    return f"{'They' if pair else 'It'} {' and '.join(bits) if len(bits) < 3 else ', '.join(bits[:-1]) + ' and ' + bits[-1]}."


def contrast_sentence(product: Product, contrasts) -> str:
    """A short second sentence with the product's first comparison fact ("It is the cheapest of the five.")."""
    return follow_up(product, (), contrasts)
