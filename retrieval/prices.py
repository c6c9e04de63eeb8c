"""Budgets as shoppers say them: number words ("thirty", "twenty five"), bounds ("no more
than 30", "40 max", "up to 60"), ranges ("between 15 and 25", "15-25"), approximate amounts
("around 40 give or take": 25% either way), "the cheapest", "money is no object", and
relative moves ("cheaper", "less pricey"). Pure functions over normalised text."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from retrieval.query_parser import QueryError

_UNITS = {"zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_NUMBER_WORDS = re.compile(r"\b(?:(" + "|".join(_TENS) + r")(?:[ -](" + "|".join(["one", *(k for k in _UNITS if k != "zero")])
                           + r"))?|(" + "|".join(_UNITS) + r"))(?: (hundred))?\b")
_CURRENCY = r"(?:\s*(?:dollars?|usd|bucks|quid|pounds?|euros?|rs|rupees?|\$))?"
_NUM = r"\$?\s*(\d+(?:\.\d+)?)" + _CURRENCY
# British money slang: "under a tenner", "a fiver or less" (the amount, said as a currency)
_SLANG = {"fiver": "5 quid", "tenner": "10 quid", "fivers": "5 quid", "tenners": "10 quid"}
_SLANG_AMOUNTS = re.compile(r"\b(?:an? |one )?(" + "|".join(_SLANG) + r")\b")
APPROX = 0.25  # "around 40": 30 to 50
_AT_MOST = r"(?:max(?:imum)?|tops|at most|at the most|or less|or under|or below|limit)\b"  # "about 80 max": at most 80

_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"\b(?:between|from)\s+{_NUM}\s+(?:and|to|-)\s+{_NUM}"), "range"),
    (re.compile(rf"(?<![\w.]){_NUM}\s*(?:-|to)\s*{_NUM}(?=\s|$)"), "range"),
    (re.compile(rf"\b(?:around|about|roughly|approximately|approx|near|close to|in the region of|ballpark)\s+{_NUM}"
                rf"(?![\d.a-z]|{_CURRENCY}\s*{_AT_MOST})(?:\s*(?:give or take|or so|ish|more or less))?"), "approx"),
    (re.compile(rf"{_NUM}\s*(?:give or take|or so|ish|more or less)\b"), "approx"),
    (re.compile(rf"(?:\bunder|\bbelow|\bless than|\bcheaper than|\blower than|\bmax(?:imum)?(?: of)?|\bup ?to|"
                rf"\bat most|\bno more than|\bnot more than|\bnot over|\bnothing over|\bwithin|\bbudget(?: of| is)?|"
                rf"\bat or under|\bsub|<=?)\s*{_NUM}"), "max"),
    (re.compile(rf"{_NUM}\s*(?:{_AT_MOST}|budget\b)"), "max"),
    (re.compile(rf"(?:\bover|\babove|\bmore than|\bat least|\bmin(?:imum)?|\bstarting at|\bupwards of|>=?)\s*{_NUM}"),
     "min"),
    (re.compile(rf"{_NUM}\s*(?:or more|and up|plus|or above)\b"), "min"),
    (re.compile(r"\$\s*(\d+(?:\.\d+)?)|\b(\d+(?:\.\d+)?)\s*(?:dollars?|usd|bucks|quid)\b"), "max"),  # a bare amount
]
# a bound said as what is not wanted, just before it ("doesnt want anything over 60", "not spending over 50")
_REFUSED = re.compile(r"\b(?:not|no|don ?t|doesn ?t|didn ?t|won ?t|can ?t|cannot|couldn ?t|shouldn ?t|wouldn ?t|never|nothing|"
                      r"none)\b(?:\s+\w+){0,3}\s*$")
# a low bound said as what is not wanted, right before it ("nothing below 30", "dont want anything under 20")
_REFUSED_LOW = re.compile(r"\b(?:nothing|not|none|(?:don ?t|doesn ?t|won ?t) (?:want|need|like)(?: anything| any)?)\s*$")
_CHEAPEST = re.compile(r"\b(?:cheapest|lowest price[sd]?|least expensive|as cheap as (?:possible|you can)|"
                       r"cheap as possible|rock bottom)\b")
_CLEAR = re.compile(r"\b(?:money is no (?:object|issue|problem)|no budget|any price|price doesn ?t matter|"
                    r"don ?t care (?:about|what) (?:the )?(?:price|it costs)|price is no (?:object|issue)|"
                    r"budget is no (?:object|issue)|forget the (?:price|budget)|ignore the (?:price|budget)|"
                    r"whatever it costs|no price limit|no limit)\b")
_LOWER = re.compile(r"\b(?:cheaper|less expensive|less pricey|lower price[sd]?|more affordable|too expensive|"
                    r"too pricey|too much money|for less|out of my budget|over my budget|on a budget|budget friendly|inexpensive|less costly|save money|"
                    r"cheap(?! as)|affordable|low cost|low priced|not (?:so|that|as|very|too) (?:pricey|pricy|expensive|costly|dear)|"
                    r"(?:are|is|r|s|looks?|seems?|bit|a bit|kinda|quite|rather|way|pretty) (?:pricey|pricy|costly)|"
                    r"costs? less|costing less|(?:easy|easier|kinder|gentler) on the (?:wallet|pocket|budget|bank))\b")
_HIGHER = re.compile(r"\b(?:more expensive|pricier|higher end|high end|more premium|premium|upmarket|luxury|"
                     r"luxurious|splurge|higher price[sd]?)\b")

# "half the price", "for a third of the cost", "twice the price": a factor of the reference's price
_FACTOR = re.compile(r"\b(?:(half)|(?:a |one )?(third)|(?:a |one )?(quarter)|(twice|double))(?: of)?"
                     r"(?: the| its| that| their)? (?:price|cost)\b|\b(half)[ -]price\b|\b(half|twice) as much\b"
                     r"|\bfor (half) (?:that|of that|it)\b")  # "105 is steep, something like it for half that"
_FACTORS = {"half": 0.5, "third": 1 / 3, "quarter": 0.25, "twice": 2.0, "double": 2.0}


@dataclass(frozen=True)
class Prices:
    min_price: float | None = None
    max_price: float | None = None
    sort: Literal["price", "near"] | None = None  # the cheapest first; nearest the middle of the range first
    relative: Literal["lower", "higher"] | None = None
    clear: bool = False
    factor: float | None = None  # with ``relative``: that fraction (or multiple) of the reference's price
    phrases: tuple[str, ...] = ()
    rest: str = ""  # the text without the price phrases
    notes: tuple[str, ...] = field(default=())


def words_to_numbers(text: str) -> str:
    """"thirty" -> "30", "twenty five" -> "25", "two hundred" -> "200" (normalised text)."""
    def value(m: re.Match) -> str:
        tens, unit, small, hundred = m.groups()
        n = _TENS[tens] + ({**_UNITS, "one": 1}[unit] if unit else 0) if tens else _UNITS[small]
        return str(n * 100 if hundred else n)

    text = _SLANG_AMOUNTS.sub(lambda m: _SLANG[m.group(1)], text)
    return _NUMBER_WORDS.sub(value, text)


def read_prices(text: str) -> Prices:
    """The budget in ``text`` (normalised, numbers as digits) and the text without it."""
    lo = hi = None
    approx = False
    phrases, rest = [], text
    for pattern, kind in _PATTERNS:
        for m in pattern.finditer(rest):
            nums = [_amount(g, m.group(0)) for g in m.groups() if g is not None]
            if kind == "range" and len(nums) == 2:
                lo, hi = min(nums), max(nums)
            elif kind == "approx" and nums and lo is None and hi is None:
                lo, hi = round(nums[0] * (1 - APPROX), 2), round(nums[0] * (1 + APPROX), 2)
                approx = True
            elif kind == "max" and nums and lo is None and _REFUSED_LOW.search(rest[:m.start()]):
                lo = nums[0]  # "something decent, nothing below 30": at least 30
            elif kind == "max" and nums and hi is None:
                hi = nums[0]
            elif kind == "min" and nums and hi is None and _REFUSED.search(rest[:m.start()]):
                hi = nums[0]  # "she doesnt want anything over 60": at most 60
            elif kind == "min" and nums and lo is None:
                lo = nums[0]
            else:
                continue
            phrases.append(m.group(0).strip())
            rest = rest.replace(m.group(0), " ", 1)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    sort = "price" if _CHEAPEST.search(rest) else "near" if approx else None  # "around 70": 70 first
    clear = bool(_CLEAR.search(rest))
    relative = factor = None
    if hi is None and lo is None:
        relative = "lower" if _LOWER.search(rest) else "higher" if _HIGHER.search(rest) else None
        if m := _FACTOR.search(rest):
            factor = _FACTORS[next(g for g in m.groups() if g)]
            relative = "lower" if factor < 1 else "higher"
    for rx in (_FACTOR, _CHEAPEST, _CLEAR, _LOWER, _HIGHER):
        for m in rx.finditer(rest):
            phrases.append(m.group(0))
        rest = rx.sub(" ", rest)
    return Prices(lo, hi, sort, relative, clear, factor, tuple(phrases), re.sub(r"\s+", " ", rest).strip())


def _amount(group: str, phrase: str) -> float:
    value = float(group)
    if not math.isfinite(value):
        raise QueryError(f"price in {phrase[:40].strip()!r}... is too large to filter on")
    return value
