"""A colour model: the catalog's colour names placed in CIELAB, so that a colour word the
catalog does not use ("burgundy" is one of its names, "wine", "lilac" or "camel" are not)
resolves to the nearest catalog colours, and "darker", "lighter", "brighter", "pastel",
"not so loud" move from the colours in force to their nearest catalog neighbours.

The sRGB values of the catalog's names and of some fashion words are written once; the
other colour words are the xkcd colour survey's names (shipped with matplotlib). CIELAB (D65)
makes distances roughly perceptual (delta E 1976); OKLab gives hue. Pure numpy, no models.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Literal

import numpy as np

logger = logging.getLogger(__name__)

# The catalog's colour names, as typically rendered (Multi has no single colour).
CATALOG_RGB: dict[str, tuple[int, int, int]] = {
    "Beige": (222, 203, 164), "Black": (20, 20, 20), "Blue": (40, 80, 190), "Bronze": (176, 120, 60),
    "Brown": (120, 75, 40), "Burgundy": (128, 20, 45), "Charcoal": (60, 62, 66), "Coffee Brown": (95, 60, 40),
    "Copper": (184, 115, 51), "Cream": (245, 235, 200), "Gold": (212, 175, 55), "Green": (40, 140, 60),
    "Grey": (128, 128, 128), "Grey Melange": (165, 165, 165), "Khaki": (195, 176, 145), "Lavender": (190, 170, 225),
    "Magenta": (200, 30, 140), "Maroon": (110, 20, 30), "Mauve": (190, 145, 170), "Metallic": (170, 170, 180),
    "Mushroom Brown": (150, 125, 105), "Mustard": (215, 170, 40), "Navy Blue": (25, 35, 80), "Nude": (225, 185, 160),
    "Off White": (245, 242, 230), "Olive": (110, 115, 50), "Orange": (240, 120, 30), "Peach": (250, 190, 160),
    "Pink": (240, 150, 180), "Purple": (110, 50, 140), "Red": (200, 30, 40), "Rose": (220, 120, 140),
    "Rust": (180, 70, 35), "Sea Green": (50, 160, 130), "Silver": (192, 192, 200), "Skin": (230, 190, 165),
    "Steel": (165, 170, 178), "Tan": (200, 155, 110), "Teal": (0, 120, 125), "Turquoise Blue": (60, 190, 200),
    "White": (250, 250, 250), "Yellow": (245, 215, 50),
}
# Everyday colour words a catalog may not use, as typically rendered.
WORD_RGB: dict[str, tuple[int, int, int]] = {
    "wine": (115, 30, 50), "crimson": (190, 20, 50), "scarlet": (230, 30, 30), "cherry": (200, 20, 50),
    "silvery": (192, 192, 200),
    "ruby": (180, 15, 60), "oxblood": (90, 20, 20), "brick": (170, 60, 40), "terracotta": (200, 100, 70),
    "coral": (250, 120, 90), "salmon": (250, 130, 115), "blush": (240, 190, 190), "fuchsia": (230, 0, 120),
    "hot pink": (255, 105, 180), "baby pink": (245, 195, 205), "plum": (115, 45, 90), "violet": (130, 60, 180),
    "lilac": (200, 162, 200), "aubergine": (70, 30, 60), "eggplant": (70, 30, 60), "rose gold": (183, 110, 121),
    "camel": (193, 154, 107), "caramel": (190, 120, 60), "chocolate": (90, 50, 25), "mocha": (120, 90, 70),
    "taupe": (140, 125, 110), "sand": (210, 190, 150), "stone": (190, 180, 160), "oatmeal": (220, 205, 180),
    "ecru": (230, 220, 190), "biscuit": (220, 195, 155), "ivory": (250, 245, 225), "champagne": (240, 220, 180), "lemon": (250, 240, 120),
    "ochre": (200, 130, 30), "amber": (230, 150, 20), "cobalt": (0, 71, 171), "royal blue": (65, 105, 225),
    "sky blue": (135, 206, 235), "baby blue": (170, 200, 235), "powder blue": (176, 224, 230),
    "light blue": (150, 190, 230), "dark blue": (20, 40, 110), "denim": (21, 96, 189), "indigo": (60, 40, 120),
    "midnight": (25, 25, 60), "aqua": (0, 200, 200), "mint": (150, 220, 180), "sage": (150, 170, 130),
    "emerald": (0, 140, 80), "forest green": (34, 100, 34), "bottle green": (0, 90, 50), "lime": (150, 210, 50),
    "dark green": (20, 80, 40), "light green": (140, 210, 140), "slate": (100, 110, 120), "gunmetal": (80, 85, 90),
    "ash": (180, 180, 175), "dark grey": (70, 70, 72), "light grey": (200, 200, 200), "jet black": (10, 10, 10),
    "snow": (252, 252, 252), "bone": (227, 218, 201), "chestnut": (150, 75, 50), "mahogany": (110, 40, 30),
    "walnut": (95, 65, 45), "honey": (220, 160, 60), "peacock": (0, 110, 130), "navy": (25, 35, 80),
    "army green": (75, 83, 32), "khaki green": (110, 110, 60), "olive green": (110, 115, 50), "neon": (200, 255, 0),
    "neon green": (57, 255, 20), "burnt orange": (204, 85, 0), "dusty pink": (210, 160, 160), "dusky pink": (200, 140, 150),
    "chrome": (200, 200, 205), "electric blue": (44, 117, 255), "teal blue": (0, 110, 140), "bright red": (230, 20, 30), "dark red": (140, 10, 20),
}
Direction = Literal["darker", "lighter", "brighter", "muted", "pastel", "deeper"]
SHADE_MOVES = frozenset({"darker", "lighter", "deeper"})  # a shade of the same colour, lighter or darker
NEUTRAL_CHROMA = 12.0  # CIELAB chroma at or under which a colour is a white, grey or black
CHROMATIC = 20.0  # CIELAB chroma over which a colour has a hue to keep when it moves
SHADE_HUE_GAP = 15.0  # degrees of OKLab hue within which another colour is a shade of the same one
SHADE_STEP = 8.0  # CIELAB lightness a shade differs by at least (burgundy is no lighter maroon)
CLEARLY = 15.0  # CIELAB lightness any colour "lighter" ("darker") than another differs by
# A survey name that starts with one of these is a colour moved ("pale pink", "deep red"): the
# reader reads the move itself, from the colour named.
MODIFIERS = frozenset("dark darker light lighter pale paler bright brighter deep deeper very really".split())
# The basic colour terms of English (Berlin and Kay): categories, not shades. A catalog that lacks
# one lacks that colour; the survey's swatch for it would only stand in its nearest neighbour.
BASIC_TERMS = frozenset("black white red green yellow blue brown purple pink orange grey gray".split())
# Survey names that are no colour to a shopper (a material, a pattern, a place, a thing) or that
# other tables read ("dark", "pale" move a colour; "denim" is jeans).
NOT_COLOURS = frozenset("""leather velvet denim camo dark pale light black apple desert royal sea ocean sky ice earth
forest leaf grass tea pea dust dusk twilight marine bland drab barney lipstick butter banana""".split())


@functools.lru_cache(maxsize=1)
def colour_words() -> dict[str, tuple[int, int, int]]:
    """Colour words and their sRGB: the xkcd colour survey's 949 names (what some 220,000 people
    typed for colours they were shown; ``matplotlib.colors.XKCD_COLORS``) and the hand-written
    fashion words above, which win ("navy", "wine", "rose gold"). Single survey words in
    ``NOT_COLOURS`` are left out."""
    try:
        from matplotlib.colors import XKCD_COLORS
    except ImportError:  # the hand-written words still work
        XKCD_COLORS = {}
    survey = {}
    for name, hex_ in XKCD_COLORS.items():
        word = name.removeprefix("xkcd:")
        if not word.replace(" ", "").isalpha() or word in NOT_COLOURS | BASIC_TERMS or word.split()[0] in MODIFIERS:
            continue
        survey[word] = (int(hex_[1:3], 16), int(hex_[3:5], 16), int(hex_[5:7], 16))
    # "goldish", "beigish", "silverish": a catalog colour's or a fashion word's own word with -ish
    ish = {(w[:-1] if w.endswith("e") else w) + "ish": rgb for w, rgb in {**WORD_RGB, **{
        c.lower(): v for c, v in CATALOG_RGB.items()}}.items() if w.isalpha()}
    return {**ish, **survey, **WORD_RGB}


def carries_name(colour: str, other: str) -> bool:
    """Whether catalog colour ``other`` carries ``colour``'s name as a word ("Grey Melange" of "Grey",
    "Navy Blue" of "Blue")."""
    return re.search(rf"\b{re.escape(colour)}\b", other) is not None


def srgb_to_lab(rgb) -> np.ndarray:
    """sRGB (0-255, shape (..., 3)) to CIELAB under D65."""
    c = np.asarray(rgb, np.float64) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def srgb_to_oklab(rgb) -> np.ndarray:
    """sRGB (0-255, shape (..., 3)) to OKLab (Ottosson 2020). Its hue angles follow perceived hue
    where CIELAB's bend: CIELAB puts Purple 24 degrees from Blue, OKLab 48."""
    c = np.asarray(rgb, np.float64) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929], [0.2119034982, 0.6806995451, 0.1073969566],
                   [0.0883024619, 0.2817188376, 0.6299787005]])
    m2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468], [1.9779984951, -2.4285922050, 0.4505937099],
                   [0.0259040371, 0.7827717662, -0.8086757660]])
    return np.cbrt(c @ m1.T) @ m2.T


METALLIC = frozenset({"Silver", "Steel", "Gold", "Bronze", "Copper", "Metallic", "Rose Gold"})
# A colour word that names a metal; any other ("ochre", "ash") means a dye, never a metal's finish.
METAL_WORD = re.compile(r"gold|silver|bronze|copper|brass|metal|chrome|steel|platinum|pewter|titanium|tin\b|iron")


def near_colours(colours: tuple[str, ...], catalog_colours: tuple[str, ...], n: int = 2,
                 max_delta_e: float = 28.0) -> tuple[str, ...]:
    """Catalog colours perceptually next to ``colours`` (Navy Blue -> Blue, Charcoal), nearest
    first: what fills a page when too few products have exactly the colour asked."""
    space = colour_space(catalog_colours)
    out: list[str] = []
    for colour in colours:
        if colour not in space.names:
            continue
        i = space.names.index(colour)
        d = np.linalg.norm(space.lab - space.lab[i], axis=1)
        d[i] = np.inf
        if space.chroma[i] > CHROMATIC:  # a lighter or darker shade of its hue is nearer than a grey or another hue
            d = np.where(space._same_hue(i), d - max_delta_e / 2, d)
        out += [space.names[j] for j in np.argsort(d)[:n]
                if d[j] <= max_delta_e and space.names[j] not in colours and space.names[j] not in out]
    return tuple(out)



def near_steps(colours: tuple[str, ...], catalog_colours: tuple[str, ...], n: int = 2,
               max_delta_e: float = 28.0) -> tuple[tuple[str, ...], ...]:
    """The :func:`near_colours` that fill a short page, in the steps they are searched: of one
    colour asked, nearest first, one at a time (navy: blue before black); of several, all at once,
    for the words to rank (each asked colour's own nearest would pull the page its way)."""
    near = near_colours(colours, catalog_colours, n, max_delta_e)
    return tuple((c,) for c in near) if len(colours) == 1 else (near,)


def colour_distance(colour: str | None, to: tuple[str, ...]) -> float:
    """CIELAB distance from a catalog colour to the nearest of ``to`` (inf for a colour with no
    known rendering, "Multi"): what orders other colours when none has the one asked. A black,
    white or grey is a further ``CHROMATIC`` from a colour with a hue (berry: pink before black),
    and a colour of the same family by name a quarter as far (turquoise blue: blue before grey)."""
    space = colour_space(tuple(CATALOG_RGB))  # every rendered colour, built once
    asked = [space.names.index(c) for c in to if c in CATALOG_RGB]
    if colour not in CATALOG_RGB or not asked:
        return float("inf")
    i = space.names.index(colour)
    neutral = space.chroma[i] <= NEUTRAL_CHROMA
    hued = space.chroma[asked] > CHROMATIC
    family = set(colour.lower().split()) & BASIC_TERMS  # the basic colour words in its name ("Navy Blue": blue)
    kin = np.array([bool(family & set(space.names[j].lower().split())) for j in asked])
    d = np.linalg.norm(space.lab[asked] - space.lab[i], axis=1) + CHROMATIC * (neutral & hued)
    return float((d * np.where(kin, 0.25, 1.0)).min())


@functools.lru_cache(maxsize=8)
def colour_space(catalog_colours: tuple[str, ...]) -> "ColourSpace":
    """The (immutable) colour space of one catalog vocabulary, built once."""
    return ColourSpace(catalog_colours)


class ColourSpace:
    """The colours of one catalog (those with a known rendering) in CIELAB, with their hue
    angles from OKLab (what "keeps its hue" compares)."""

    def __init__(self, catalog_colours: tuple[str, ...]):
        self.names = tuple(c for c in catalog_colours if c in CATALOG_RGB)
        rgb = [CATALOG_RGB[c] for c in self.names]
        self.lab = srgb_to_lab(rgb) if self.names else np.zeros((0, 3))
        ok = srgb_to_oklab(rgb) if self.names else np.zeros((0, 3))
        self.hue = np.degrees(np.arctan2(ok[:, 2], ok[:, 1]))
        self.chroma = np.hypot(self.lab[:, 1], self.lab[:, 2])
        self.metallic = np.array([n in METALLIC for n in self.names], dtype=bool)

    @functools.cached_property
    def word_colours(self) -> dict[str, tuple[str, ...]]:
        """Every colour word with the catalog colours it means (:meth:`of_word`), placed once per
        catalog: readers built on the same vocabulary share it."""
        return {word: self.of_word(word) for word in colour_words()}

    def nearest(self, lab: np.ndarray, n: int = 2, max_delta_e: float = 30.0, mask=None) -> tuple[str, ...]:
        """Up to ``n`` catalog colours nearest ``lab``: the nearest always, others within
        ``max_delta_e`` of it (so "wine" gives Burgundy and Maroon, "scarlet" just Red)."""
        if not self.names:
            return ()
        d = np.linalg.norm(self.lab - lab, axis=1)
        if mask is not None:
            d = np.where(mask, d, np.inf)
        order = [i for i in np.argsort(d) if np.isfinite(d[i])]
        if not order:
            return ()
        best = d[order[0]]
        return tuple(self.names[i] for i in order[:n] if d[i] <= best + max_delta_e * 0.5 or i == order[0])

    def of_word(self, word: str, n: int = 2) -> tuple[str, ...]:
        """The catalog colours a colour word means ("wine" -> Burgundy, Maroon): the nearest, and
        near ones of the same hue when the word has one ("dark blue" is Navy Blue, not Purple)."""
        rgb = colour_words().get(word)
        if rgb is None or not self.names:
            return ()
        lab = srgb_to_lab(rgb)
        cloth = np.ones(len(self.names), dtype=bool) if METAL_WORD.search(word) else ~self.metallic
        if np.hypot(lab[1], lab[2]) <= NEUTRAL_CHROMA:  # a grey, an off-white: hue says little
            return self.nearest(lab, n, mask=cloth)  # "ash" is a grey, not steel: a metal is named as one
        ok = srgb_to_oklab(rgb)  # a colour of that hue ("baby pink" a pink, "light blue" no grey)
        mask = (self._hue_gap(float(np.degrees(np.arctan2(ok[2], ok[1])))) < 40) & (self.chroma > 10) & cloth
        found = self.nearest(lab, n, mask=mask if mask.any() else cloth)
        # a second colour no further from the word's lightness than the first ("light blue": blue, not navy)
        lightness = {c: abs(float(self.lab[self.names.index(c), 0] - lab[0])) for c in found}
        return tuple(c for c in found if c == found[0] or lightness[c] <= lightness[found[0]] + CLEARLY)

    def _hue_gap(self, hue: float) -> np.ndarray:
        """Each catalog colour's OKLab hue angle from ``hue`` (degrees, 0-180)."""
        return np.abs((self.hue - hue + 180) % 360 - 180)

    def shifted(self, colours: tuple[str, ...], direction: Direction, n: int = 2) -> tuple[str, ...]:
        """Catalog colours that are ``direction`` of ``colours`` ("darker" than Red: Maroon,
        Burgundy), never the same ones; () when none is known or nothing lies that way."""
        known = [c for c in colours if c in self.names]
        if not known:  # nothing to move from: the catalog's colours that are dark, light, bright, soft...
            return self.band(direction, n + 3)
        if direction == "brighter" and all(self.chroma[self.names.index(c)] <= NEUTRAL_CHROMA for c in known):
            return self.band(direction, n + 3)  # "more colourful" than grey or black: any colourful one
        out: list[str] = []
        for colour in known:
            out += [c for c in self._shift_one(colour, direction, n) if c not in out and c not in known]
        if not out and direction == "pastel":
            return self.pastels(n + 2)
        return tuple(out[: max(n, len(known) * n)])

    def _shift_one(self, colour: str, direction: Direction, n: int) -> tuple[str, ...]:
        i = self.names.index(colour)
        L, a, b = self.lab[i]
        chroma = float(self.chroma[i])
        scale = {"darker": 0.9, "lighter": 0.6, "brighter": 1.4, "muted": 0.45, "pastel": 0.4, "deeper": 1.15}[direction]
        target_l = {"darker": L - 22, "lighter": L + 22, "brighter": L + 5, "muted": L, "pastel": 85.0,
                    "deeper": L - 18}[direction]
        target = np.array([np.clip(target_l, 5, 98), a * scale, b * scale])
        all_chroma = self.chroma
        if direction in ("darker", "deeper"):
            mask = self.lab[:, 0] < L - 4
        elif direction in ("lighter", "pastel"):
            mask = self.lab[:, 0] > L + 4
        elif direction == "brighter":  # more colourful, and one of the colourful ones (not bronze)
            mask = (all_chroma > chroma + 5) & np.isin(np.array(self.names), self.band("brighter"))
        else:
            mask = all_chroma < chroma - 5
        if not self.metallic[i]:  # a shade of a colour is a colour, not a metal (darker than white: not silver)
            mask = mask & ~self.metallic
        family = mask & self._family(colour)  # a lighter blue is a kind of blue (Turquoise Blue) if there is one
        if direction in SHADE_MOVES:
            shades = self._shades(i, mask, family, float(target[0]), n)
            if len(shades) >= n or (shades and family.any()):
                return shades
            if shades:  # fewer than asked: then the nearest that way, as below
                return tuple(dict.fromkeys(shades + self._shift_wide(i, mask, family, target, direction, n)))[:n]
        return self._shift_wide(i, mask, family, target, direction, n)

    def _shades(self, i: int, mask, family, target_l: float, n: int) -> tuple[str, ...]:
        """Lighter or darker versions of colour ``i`` (``mask``: those that way). A grey's are greys,
        whites and blacks (lighter than grey: grey melange, not khaki). A colour's are its family and
        the colours of nearly its hue and colourfulness (lighter than maroon: red and rose, not the
        browns a paler target lands on; lighter than brown: tan), nearest ``target_l`` in lightness,
        then in colourfulness and hue, first. () for the colours in between (a khaki, a mauve),
        which keep the nearest-colour move."""
        if self.chroma[i] <= NEUTRAL_CHROMA:
            shade = mask & (self.chroma <= NEUTRAL_CHROMA)
            return self.nearest(np.array([target_l, 0.0, 0.0]), n, mask=shade) if shade.any() else ()
        if self.chroma[i] <= CHROMATIC:
            return ()
        hue_gap = self._hue_gap(self.hue[i])
        alike = (hue_gap < SHADE_HUE_GAP) & (self.chroma > max(NEUTRAL_CHROMA, self.chroma[i] / 2)) \
            & (self.chroma < 2 * self.chroma[i])  # about as colourful: no lighter olive is yellow
        shade = mask & (family | alike) \
            & (np.abs(self.lab[:, 0] - self.lab[i, 0]) >= SHADE_STEP)
        # nearest in lightness to the move's target, then in colourfulness and in hue
        gap = np.abs(self.lab[:, 0] - target_l) + 0.5 * np.abs(self.chroma - self.chroma[i]) + hue_gap
        order = sorted(np.flatnonzero(shade), key=lambda j: gap[j])
        return tuple(self.names[j] for j in order[:n])

    def _shift_wide(self, i: int, mask, family, target, direction: Direction, n: int) -> tuple[str, ...]:
        """The catalog colours nearest ``target`` among ``mask``: in the colour's ``family`` (those of
        ``mask`` named as kinds of it) if it has one, else of about its hue."""
        if family.any():
            return self.nearest(target, n, mask=family)
        if self.chroma[i] > CHROMATIC:  # a chromatic colour keeps its hue ("darker red" is no purple)...
            hue_gap = self._hue_gap(self.hue[i])
            if direction == "muted" and (toned := mask & (hue_gap < 40) & (self.chroma > NEUTRAL_CHROMA)).any():
                # a softer version of the colour before a grey or beige ("more muted" than neon yellow: mustard)
                return tuple(dict.fromkeys(self.nearest(target, n, mask=toned) + self.nearest(
                    target, n, mask=mask & ((hue_gap < 40) | (self.chroma < NEUTRAL_CHROMA)))))[:n]
            in_hue = mask & ((hue_gap < 40) | (self.chroma < NEUTRAL_CHROMA) if direction == "muted" else hue_gap < 40)
            # ...unless nothing lighter (darker) lies in it ("lighter" than pink: the nearest light ones)
            mask = in_hue if in_hue.any() or direction not in ("lighter", "darker", "deeper", "pastel") else mask
        return self.nearest(target, n, mask=mask)

    def beyond(self, colours: tuple[str, ...], direction: str) -> tuple[str, ...]:
        """Every catalog colour clearly lighter (darker) than all of ``colours`` (by ``CLEARLY``: lighter
        than navy is no charcoal), the nearest in lightness first; () for other moves or unknown
        colours. Metals only from a metal."""
        known = [self.names.index(c) for c in colours if c in self.names]
        if direction not in SHADE_MOVES or not known:
            return ()
        L = self.lab[:, 0]
        if direction == "lighter":
            mask, edge = L > max(L[known]) + CLEARLY, max(L[known])
        else:
            mask, edge = L < min(L[known]) - CLEARLY, min(L[known])
        if not self.metallic[known].any():
            mask &= ~self.metallic
        return tuple(self.names[i] for i in sorted(np.flatnonzero(mask), key=lambda i: abs(L[i] - edge)))

    def nearest_first(self, colours: tuple[str, ...], to: tuple[str, ...]) -> tuple[str, ...]:
        """``colours`` ordered by their CIELAB distance to the nearest of ``to`` (unknown ones last)."""
        anchors = [self.lab[self.names.index(c)] for c in to if c in self.names]
        if not anchors:
            return colours

        def gap(c: str) -> float:
            return min(float(np.linalg.norm(self.lab[self.names.index(c)] - a)) for a in anchors) \
                if c in self.names else np.inf
        return tuple(sorted(colours, key=gap))

    def is_shade(self, colour: str, other: str) -> bool:
        """Whether ``other`` is a lighter, darker or softer version of ``colour``: both neutral,
        or both chromatic and of about the same hue (Navy Blue of Blue; not Turquoise Blue)."""
        if colour not in self.names or other not in self.names:
            return False
        i, j = self.names.index(colour), self.names.index(other)
        if self.chroma[i] <= NEUTRAL_CHROMA or self.chroma[j] <= NEUTRAL_CHROMA:
            return bool(self.chroma[i] <= NEUTRAL_CHROMA and self.chroma[j] <= NEUTRAL_CHROMA)
        return bool(self._same_hue(i)[j])

    def is_kind_of(self, colour: str, other: str) -> bool:
        """Whether ``other`` is still ``colour`` to a shopper: a shade of it, or a catalog colour
        named as a kind of it (Turquoise Blue of Blue)."""
        if colour not in self.names or other not in self.names:
            return False
        return self.is_shade(colour, other) or bool(self._family(colour)[self.names.index(other)])

    def is_neutral(self, colour: str) -> bool:
        """A white, grey or black (no hue to speak of)."""
        return colour in self.names and bool(self.chroma[self.names.index(colour)] <= NEUTRAL_CHROMA)

    def _same_hue(self, i: int) -> np.ndarray:
        """The chromatic catalog colours within 40 degrees of hue of colour ``i``."""
        return (self.chroma > NEUTRAL_CHROMA) & (self._hue_gap(self.hue[i]) < 40)

    def _family(self, colour: str) -> np.ndarray:
        """The catalog colours named as kinds of the same colour ("Navy Blue", "Turquoise Blue" and
        "Blue"; "Coffee Brown" and "Brown"): those sharing the name's last word."""
        head = colour.split()[-1].lower()
        return np.array([n != colour and n.split()[-1].lower() == head for n in self.names], dtype=bool)

    def band(self, direction: Direction, n: int = 5) -> tuple[str, ...]:
        """The catalog colours that are simply dark (light, bright, muted, pastel) ones."""
        if direction == "pastel":
            return self.pastels(n)
        L, chroma = self.lab[:, 0], self.chroma
        key = {"darker": L, "deeper": L - chroma, "lighter": -L, "brighter": -chroma, "muted": chroma}[direction]
        # bright: every colourful one, pinks and turquoise too (CIELAB understates a light colour's
        # chroma); not the dark reds, nor the dark oranges and yellows, which are browns and olives
        earthy = (self._hue_gap(75.0) <= 45) & (L < 60)
        ok = {"darker": L < 40, "deeper": L < 45, "lighter": L > 75, "brighter": (chroma > 34) & (L > 30) & ~earthy,
              "muted": chroma < 25}[direction]
        order = sorted(np.flatnonzero(ok), key=lambda i: key[i])
        if direction == "brighter":  # no colourful colour is more "bright" to a shopper than another
            n = len(order)
        return tuple(self.names[i] for i in order[:n])

    def pastels(self, n: int = 4) -> tuple[str, ...]:
        """Light, soft catalog colours (high lightness, low but visible chroma)."""
        ok = (self.lab[:, 0] > 70) & (self.chroma > NEUTRAL_CHROMA) & (self.chroma < 50)
        order = sorted(np.flatnonzero(ok), key=lambda i: -self.lab[i, 0])
        return tuple(self.names[i] for i in order[:n])
