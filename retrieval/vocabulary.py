"""The shop's words: the catalog's own facet values, and the everyday words for them.

One home for every table that maps words to catalog values, so the query parser, the
claim checker and the describe evaluation agree on what "navy" or "sneakers" means:

* :class:`Vocabulary`: the facet values of one catalog, exactly as stored.
* ``*_SYNONYMS``: what a shopper types -> the catalog values it means (query parsing, and the
  claim checker reading the same words in prose).
* ``GENDER_WORDS``, ``EXTRA_COLOURS``: words that make a claim in written prose.
* ``DESCRIPTION_*_WORDS``: the other way round, a catalog value -> the words a description of
  the product may use for it (the held-out describe evaluation).

Only values present in a catalog's vocabulary are ever used. Data only: no models, no store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Vocabulary:
    """The facet values of a catalog, exactly as stored."""

    colours: tuple[str, ...] = ()
    article_types: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    usages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in ("colours", "article_types", "genders", "usages")}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        return cls(**{k: tuple(v) for k, v in data.items() if k in ("colours", "article_types", "genders", "usages")})

    @classmethod
    def from_products(cls, products) -> "Vocabulary":
        def values(attr):
            return tuple(sorted({v for p in products if (v := getattr(p, attr))}))

        return cls(values("base_colour"), values("article_type"), values("gender"), values("usage"))


# Everyday words -> catalog values. Only values present in the vocabulary are used.
TYPE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "tee": ("Tshirts",), "tees": ("Tshirts",), "t shirt": ("Tshirts",), "t shirts": ("Tshirts",),
    "polo": ("Tshirts",), "polos": ("Tshirts",),
    "sneaker": ("Casual Shoes", "Sports Shoes"), "sneakers": ("Casual Shoes", "Sports Shoes"),
    "high tops": ("Casual Shoes", "Sports Shoes"), "hi tops": ("Casual Shoes", "Sports Shoes"),
    "high top": ("Casual Shoes", "Sports Shoes"), "hi top": ("Casual Shoes", "Sports Shoes"),
    "trainers": ("Sports Shoes",), "running shoes": ("Sports Shoes",),
    "shoe": ("Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats"),
    "shoes": ("Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats"),
    "dress": ("Dresses",), "gown": ("Dresses",), "frock": ("Dresses",),
    "bag": ("Handbags", "Backpacks", "Laptop Bag", "Duffel Bag", "Messenger Bag", "Clutches"),
    "bags": ("Handbags", "Backpacks", "Laptop Bag", "Duffel Bag", "Messenger Bag", "Clutches"),
    "purse": ("Handbags", "Clutches"), "purses": ("Handbags", "Clutches"),
    "shades": ("Sunglasses",), "sunnies": ("Sunglasses",),
    "slippers": ("Flip Flops",), "flipflops": ("Flip Flops",), "flip flop": ("Flip Flops",),
    "pants": ("Trousers", "Track Pants"), "trouser": ("Trousers",), "chinos": ("Trousers",),
    "joggers": ("Track Pants", "Lounge Pants"), "hoodie": ("Sweatshirts", "Jackets"), "hoodies": ("Sweatshirts", "Jackets"),
    "jumper": ("Sweaters", "Sweatshirts"), "jumpers": ("Sweaters", "Sweatshirts"), "pullover": ("Sweaters", "Sweatshirts"),
    "cap": ("Caps",), "hat": ("Caps",), "hats": ("Caps",),
    "underwear": ("Briefs", "Trunk", "Boxers", "Bra"), "bracelets": ("Bracelet",),
    "necklace": ("Necklace and Chains",), "necklaces": ("Necklace and Chains",), "chain": ("Necklace and Chains",),
    "perfume": ("Perfume and Body Mist",), "perfumes": ("Perfume and Body Mist",), "scent": ("Perfume and Body Mist",),
    "rings": ("Ring",), "pendants": ("Pendant",), "bangles": ("Bangle",),
    "saree": ("Sarees",), "sari": ("Sarees",), "kurti": ("Kurtis",), "heel": ("Heels",), "stilettos": ("Heels",),
    "sandal": ("Sandals",), "flat": ("Flats",), "ballerinas": ("Flats",), "wristwatch": ("Watches",),
}
COLOUR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "gray": ("Grey",), "navy": ("Navy Blue",), "golden": ("Gold",), "multicolour": ("Multi",),
    "multicolor": ("Multi",), "multicoloured": ("Multi",), "multicolored": ("Multi",), "lots of colours": ("Multi",), "lots of colors": ("Multi",),
    "lotsa colours": ("Multi",), "lotsa colors": ("Multi",), "many colours": ("Multi",), "many colors": ("Multi",),
    "all the colours": ("Multi",), "all the colors": ("Multi",), "violet": ("Purple",),
    "wine": ("Burgundy", "Maroon"), "turquoise": ("Turquoise Blue",), "offwhite": ("Off White",),
    "ivory": ("Off White", "Cream"), "camel": ("Tan", "Khaki"), "fuchsia": ("Magenta",), "scarlet": ("Red",),
}
CHILDREN = frozenset({"Boys", "Girls"})  # the catalog's genders for a child
GENDER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "men": ("Men",), "man": ("Men",), "mens": ("Men",), "male": ("Men",), "gents": ("Men",), "him": ("Men",),
    "his": ("Men",), "guy": ("Men",), "guys": ("Men",), "husband": ("Men",), "boyfriend": ("Men",),
    "dad": ("Men",), "father": ("Men",),
    "women": ("Women",), "woman": ("Women",), "womens": ("Women",), "female": ("Women",), "ladies": ("Women",),
    "lady": ("Women",), "her": ("Women",), "wife": ("Women",), "girlfriend": ("Women",), "mom": ("Women",),
    "mum": ("Women",), "mother": ("Women",),
    "boy": ("Boys",), "boys": ("Boys",), "girl": ("Girls",), "girls": ("Girls",),
    "kid": ("Boys", "Girls"), "kids": ("Boys", "Girls"), "children": ("Boys", "Girls"), "child": ("Boys", "Girls"),
    "unisex": ("Unisex",),
}
USAGE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "gym": ("Sports",), "sport": ("Sports",), "sporty": ("Sports",), "workout": ("Sports",),
    "office": ("Formal",), "work": ("Formal",), "traditional": ("Ethnic",), "festive": ("Ethnic",),
}

# Filler: words that carry no facet and no description of the item ("please", "something", "skip").
# What is left of a request once these, the facets and the budget are read is the item's description.
FILLER_WORDS = frozenset("""
a about above actually again all also an and another any anything are as at avoid be been being below between
bit bucks budget but by can cheaper clear close color colors colour colours cool could do does doesn doesnt
dollars don dont drop either everything except expensive few fifth find first for forget fourth from get gonna
good got great has hate hated hates have he her here hers herself him himself his hmm how i i'm ideally ignore im image in instead is
it item items its just kind kinda know last least less like little look looking looks lot love loves match matching matter max
maximum maybe me min minimum mine more most much my myself need needs never nice no none not now number occasion of ok okay on one
ones only option options or other others our ours ourselves outfit over perhaps photo pic pick picture please pls plz preference preferably price
priced pricier product products rather really remove reset result same second shade she show similar skip so
some something sort sorta start stuff style sure t than thank thanks that the their them themselves then there these they
thing things third this those to tone too under up upto us usd very wanna want wanted way we wear wearing well
what whatever which with within without works worn would yes you your yours yourself
version versions pair pairs hes shes make makes go wants likes
""".split())

# Words that name a gender in prose. Pronouns ("her", "his") are left out: "a gift for her
# dad" must not read as a claim that the product is for women.
GENDER_WORDS: dict[str, tuple[str, ...]] = {
    "men": ("Men",), "mens": ("Men",), "man": ("Men",), "male": ("Men",), "gents": ("Men",),
    "women": ("Women",), "womens": ("Women",), "woman": ("Women",), "female": ("Women",), "ladies": ("Women",),
    "boys": ("Boys",), "boy": ("Boys",), "girls": ("Girls",), "girl": ("Girls",), "unisex": ("Unisex",),
}
# Colour words not in every catalog's vocabulary but common in prose.
EXTRA_COLOURS: dict[str, tuple[str, ...]] = {
    "crimson": ("Red",), "ruby": ("Red",), "emerald": ("Green",), "olive green": ("Olive",),
    "charcoal": ("Grey",), "indigo": ("Navy Blue", "Blue"), "lavender": ("Lavender", "Purple"),
}

# A catalog colour (lower case) -> other words a description may name it by (its own name always counts).
DESCRIPTION_COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "grey": ("gray",), "navy blue": ("navy",), "grey melange": ("grey", "gray", "melange"),
    "off white": ("off-white", "white", "cream"), "multi": ("multicolour", "multicolor", "multi-coloured",
                                                             "multicoloured", "multi-colour", "multi color"),
    "charcoal": ("dark grey", "charcoal grey"), "steel": ("silver", "stainless steel"),
    "turquoise blue": ("turquoise",), "sea green": ("green",), "coffee brown": ("brown", "coffee"),
    "mushroom brown": ("brown",), "skin": ("nude", "beige"), "nude": ("skin", "beige"),
    "metallic": ("silver", "gold"), "burgundy": ("maroon", "wine"), "maroon": ("burgundy",),
    "cream": ("off white", "off-white"), "khaki": ("beige",), "rose": ("pink", "rose gold"), "mauve": ("purple",),
    "lavender": ("purple", "lilac"), "magenta": ("pink",), "mustard": ("yellow",), "rust": ("orange",),
}

# A catalog article type (lower case) -> other words a description may name it by (its own name, singular
# or plural, always counts).
DESCRIPTION_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "tshirts": ("t-shirt", "t shirt", "tee"), "perfume and body mist": ("perfume", "body mist", "fragrance"),
    "flip flops": ("flip-flop", "flip flop", "slipper"), "innerwear vests": ("vest", "innerwear"),
    "necklace and chains": ("necklace", "chain"), "track pants": ("trackpants", "track pant", "joggers"),
    "sunglasses": ("sunglass", "shades"), "casual shoes": ("sneaker",), "sports shoes": ("running shoe", "trainer"),
    "formal shoes": ("oxford", "derby", "brogue"), "handbags": ("handbag", "bag"), "backpacks": ("backpack", "bag"),
    "deodorant": ("deo", "deodorant spray"), "lip gloss": ("lipgloss",), "nail polish": ("nail paint", "nail lacquer"),
    "kurtis": ("kurti",), "kurtas": ("kurta",), "watches": ("watch",), "jeans": ("denim",),
    "sweatshirts": ("sweatshirt", "hoodie"), "tops": ("top",), "bra": ("bras",), "briefs": ("brief", "underwear"),
}
