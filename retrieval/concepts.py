"""Concepts a shopper names that are not the catalog's value names: other words for article
types (US/UK, slang), occasions and seasons (which suggest a usage or kinds of item), the
people a present is for, ages, and what goes with what. Written once, from how people talk
about clothes; only values present in a catalog's vocabulary are ever used.

Each table says how sure the reading is: a person named ("for my father") is a stated
gender; an occasion ("for a wedding") only *suggests* a usage or types, so it becomes a
soft preference in the ranking, never a filter that could empty the results.
"""

from __future__ import annotations

# Other words for article types (the catalog's own names, singular/plural, are matched already).
TYPE_WORDS: dict[str, tuple[str, ...]] = {
    # tops
    "tshirt": ("Tshirts",), "tshirts": ("Tshirts",), "t shirt": ("Tshirts",), "tee shirt": ("Tshirts",),
    "polo shirt": ("Tshirts",), "polo tee": ("Tshirts",), "graphic tee": ("Tshirts",), "crew neck": ("Tshirts",),
    "blouse": ("Tops",), "blouses": ("Tops",), "top": ("Tops",), "crop top": ("Tops",), "tank top": ("Tops",),
    "camisole": ("Camisoles", "Tops"), "cami": ("Camisoles", "Tops"), "button down": ("Shirts",),
    "button up": ("Shirts",), "dress shirt": ("Shirts",), "oxford shirt": ("Shirts",), "flannel": ("Shirts",),
    "sweatshirt": ("Sweatshirts",), "hoody": ("Sweatshirts",), "hooded": ("Sweatshirts", "Jackets"),
    "cardigan": ("Sweaters",), "cardigans": ("Sweaters",), "knitwear": ("Sweaters",), "jersey": ("Tshirts", "Sweaters"),
    "sweater": ("Sweaters",), "woolly": ("Sweaters",), "coat": ("Jackets",), "coats": ("Jackets",),
    "jacket": ("Jackets",), "windcheater": ("Jackets",), "bomber": ("Jackets",), "parka": ("Jackets",),
    "puffer": ("Jackets",), "raincoat": ("Rain Jacket", "Jackets"), "blazer": ("Blazers", "Jackets"),
    "blazers": ("Blazers", "Jackets"), "waistcoat": ("Waistcoat",), "vest": ("Innerwear Vests", "Waistcoat"),
    "tunic": ("Tunics",), "kurta": ("Kurtas", "Kurtis"), "kurtha": ("Kurtas", "Kurtis"), "kurti": ("Kurtis", "Kurtas"),
    # bottoms
    "jean": ("Jeans",), "denims": ("Jeans",), "denim jeans": ("Jeans",), "slacks": ("Trousers",),
    "chino": ("Trousers",), "khakis": ("Trousers",), "trousers": ("Trousers",), "formal pants": ("Trousers",),
    "sweatpants": ("Track Pants",), "trackies": ("Track Pants",), "jogger": ("Track Pants",),
    "track pant": ("Track Pants",), "tracksuit bottoms": ("Track Pants",), "yoga pants": ("Leggings", "Track Pants"),
    "tights": ("Tights", "Leggings"), "jeggings": ("Jeggings",), "skirt": ("Skirts",), "mini skirt": ("Skirts",),
    "shorts": ("Shorts",), "bermudas": ("Shorts",), "cargo shorts": ("Shorts",), "three quarters": ("Capris",),
    "capri": ("Capris",), "pedal pushers": ("Capris",), "salwar": ("Salwar", "Salwar and Dupatta", "Patiala"),
    # "3/4 pants" (normalised "3 4 pants"), "three-quarter pants" (the number word read as 3)
    **{f"{n} {p}": ("Capris",) for n in ("3 4", "three quarter", "3 quarter") for p in ("pants", "trousers")},
    "cropped pants": ("Capris",), "cropped trousers": ("Capris",),
    "shalwar": ("Salwar", "Patiala"), "churidar": ("Churidar",),
    # dresses and sets
    "sundress": ("Dresses",), "maxi": ("Dresses",), "maxi dress": ("Dresses",), "gowns": ("Dresses",),
    "jumpsuit": ("Jumpsuit",), "playsuit": ("Jumpsuit", "Rompers"), "romper": ("Rompers",),
    "sari": ("Sarees",), "saris": ("Sarees",), "lehenga": ("Lehenga Choli",), "kurta set": ("Kurta Sets",),
    "salwar suit": ("Kurta Sets", "Salwar and Dupatta"), "salwar suits": ("Kurta Sets", "Salwar and Dupatta"),
    "salwar kameez": ("Kurta Sets", "Salwar and Dupatta"), "shalwar kameez": ("Kurta Sets", "Salwar and Dupatta"),
    "churidar suit": ("Kurta Sets",), "anarkali suit": ("Kurta Sets",), "swimsuit": ("Swimwear",), "bikini": ("Swimwear",),
    "swimming costume": ("Swimwear",), "swim trunks": ("Swimwear",), "bathing suit": ("Swimwear",),
    # nightwear and underwear
    "pyjamas": ("Night suits", "Lounge Pants"), "pajamas": ("Night suits", "Lounge Pants"),
    "kurta pyjama": ("Kurta Sets",), "kurta pajama": ("Kurta Sets",), "bikini top": ("Swimwear",),
    "pj": ("Night suits", "Lounge Pants"), "pjs": ("Night suits", "Lounge Pants"), "pj set": ("Night suits",),
    "pj sets": ("Night suits",), "pyjama set": ("Night suits",), "pyjama sets": ("Night suits",),
    "pajama set": ("Night suits",), "pajama sets": ("Night suits",), "nightie": ("Nightdress",), "nighty": ("Nightdress",), "nightgown": ("Nightdress",),
    "sleepwear": ("Night suits", "Nightdress"), "nightwear": ("Night suits", "Nightdress"),
    "dressing gown": ("Bath Robe", "Robe"), "bathrobe": ("Bath Robe",), "boxer": ("Boxers",),
    "boxer shorts": ("Boxers",), "undies": ("Briefs", "Trunk"), "knickers": ("Briefs",), "panties": ("Briefs",),
    "y fronts": ("Briefs",),
    "trunks": ("Trunk",), "brassiere": ("Bra",), "bras": ("Bra",), "sports bra": ("Bra",), "vests": ("Innerwear Vests",),
    "undershirt": ("Innerwear Vests",), "singlet": ("Innerwear Vests",), "baniyan": ("Innerwear Vests",),
    "banian": ("Innerwear Vests",), "braces": ("Suspenders",),  # UK: suspenders
    # footwear
    "trainer": ("Sports Shoes",), "running shoe": ("Sports Shoes",), "runners": ("Sports Shoes",),
    "kicks": ("Casual Shoes", "Sports Shoes"), "tennis shoes": ("Sports Shoes", "Casual Shoes"),
    "gym shoes": ("Sports Shoes",), "canvas shoes": ("Casual Shoes",), "plimsolls": ("Casual Shoes",),
    "loafer": ("Casual Shoes", "Formal Shoes"), "loafers": ("Casual Shoes", "Formal Shoes"),
    "moccasins": ("Casual Shoes",), "slip ons": ("Casual Shoes",), "boat shoes": ("Casual Shoes",),
    "lace ups": ("Casual Shoes", "Formal Shoes"), "lace up shoes": ("Casual Shoes", "Formal Shoes"),
    "boots": ("Casual Shoes", "Heels", "Formal Shoes"), "boot": ("Casual Shoes", "Heels", "Formal Shoes"),
    "oxfords": ("Formal Shoes",), "brogues": ("Formal Shoes",), "derby": ("Formal Shoes",),
    "dress shoes": ("Formal Shoes",), "office shoes": ("Formal Shoes",), "pumps": ("Heels",),
    "high heels": ("Heels",), "stiletto": ("Heels",), "wedges": ("Heels", "Sandals"), "platforms": ("Heels",),
    "ballet flats": ("Flats",), "ballerina": ("Flats",), "mules": ("Flats", "Heels"), "juttis": ("Flats",),
    "chappals": ("Sandals", "Flip Flops", "Flats"),  # women's flat sandals are filed as Flats
    "sliders": ("Flip Flops", "Sandals"), "slides": ("Flip Flops", "Sandals"),
    "thongs": ("Flip Flops",), "flipflop": ("Flip Flops",), "floaters": ("Sandals", "Sports Sandals"),
    # accessories
    "specs": ("Sunglasses",), "sunglass": ("Sunglasses",), "glasses": ("Sunglasses",), "sun glasses": ("Sunglasses",),
    "aviators": ("Sunglasses",), "wayfarers": ("Sunglasses",), "goggles": ("Sunglasses",),
    "watch": ("Watches",), "timepiece": ("Watches",), "smartwatch": ("Watches",), "chronograph": ("Watches",),
    "handbag": ("Handbags",), "tote": ("Handbags",), "tote bag": ("Handbags",), "shoulder bag": ("Handbags",),
    "sling bag": ("Handbags", "Messenger Bag"), "satchel": ("Handbags", "Messenger Bag"),
    "clutch": ("Clutches",), "clutch purse": ("Clutches",), "clutch bag": ("Clutches",), "evening bag": ("Clutches",),
    "backpack": ("Backpacks",), "rucksack": ("Backpacks", "Rucksacks"), "school bag": ("Backpacks",),
    "laptop bag": ("Laptop Bag",), "duffel": ("Duffel Bag",), "duffle": ("Duffel Bag",), "duffle bag": ("Duffel Bag",), "gym bag": ("Duffel Bag",),
    "holdall": ("Duffel Bag",), "holdalls": ("Duffel Bag",),
    "travel bag": ("Duffel Bag", "Trolley Bag"), "suitcase": ("Trolley Bag",), "wallet": ("Wallets",),
    "billfold": ("Wallets",), "card holder": ("Wallets",), "belt": ("Belts",), "tie": ("Ties",), "necktie": ("Ties",),
    "bow tie": ("Ties",), "cufflink": ("Cufflinks",), "beanie": ("Caps",), "baseball cap": ("Caps",),
    "scarf": ("Scarves", "Stoles", "Mufflers"), "shawl": ("Stoles", "Scarves"), "stole": ("Stoles",),
    "muffler": ("Mufflers", "Scarves"), "gloves": ("Gloves",), "mittens": ("Gloves",), "socks": ("Socks",),
    "sock": ("Socks",), "umbrella": ("Umbrellas",), "earring": ("Earrings",), "studs": ("Earrings",),
    "hoops": ("Earrings",), "jhumkas": ("Earrings",), "bracelet": ("Bracelet",), "bangle": ("Bangle",),
    "pendant": ("Pendant",), "locket": ("Pendant",), "ring": ("Ring",),
    **{w: ("Jewellery Set", "Earrings", "Necklace and Chains", "Pendant", "Ring", "Bangle", "Bracelet")
       for w in ("jewelry", "jewellery")},  # "jewellery, maybe a ring": a ring
    # personal care
    "cologne": ("Perfume and Body Mist",), "fragrance": ("Perfume and Body Mist",), "eau de toilette":
        ("Perfume and Body Mist",), "body spray": ("Deodorant", "Perfume and Body Mist"), "deo": ("Deodorant",),
    "lippie": ("Lipstick",), "lip stick": ("Lipstick",), "lip colour": ("Lipstick",), "nail paint": ("Nail Polish",),
    "nail varnish": ("Nail Polish",), "eyeliner": ("Kajal and Eyeliner",), "kohl": ("Kajal and Eyeliner",),
    "moisturiser": ("Face Moisturisers",), "moisturizer": ("Face Moisturisers",), "face wash": ("Face Wash and Cleanser",),
}

# Usage words a shopper states about the item itself ("a formal shirt"): a filter.
USAGE_WORDS: dict[str, tuple[str, ...]] = {
    "formal": ("Formal",), "formals": ("Formal",), "casual": ("Casual",), "casuals": ("Casual",),
    "ethnic": ("Ethnic",), "traditional": ("Ethnic",), "indian wear": ("Ethnic",), "desi": ("Ethnic",), "sporty": ("Sports",),
    "athletic": ("Sports",), "athleisure": ("Sports",), "partywear": ("Party",), "party wear": ("Party",),
    "smart casual": ("Smart Casual",), "smart": ("Smart Casual", "Formal"),
}

# Occasions and seasons: what they suggest (soft): usages and, for some, kinds of item.
_STUDENT_BAGS = ("Backpacks", "Laptop Bag", "Messenger Bag")  # "a bag for college": among bags, these first
# "a bag for a night out": among bags, these first (the catalog files next to nothing as Party wear)
_EVENING = ("Clutches", "Handbags", "Heels", "Dresses")
_WARM = ("Jackets", "Sweaters", "Sweatshirts", "Mufflers", "Gloves", "Scarves", "Stoles", "Shrug")
OCCASIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # phrase -> (usages, article types)
    "wedding": (("Ethnic", "Formal", "Party"), ()), "shaadi": (("Ethnic", "Formal", "Party"), ()),
    "shadi": (("Ethnic", "Formal", "Party"), ()), "reception": (("Ethnic", "Formal", "Party"), ()),
    "sangeet": (("Ethnic", "Party"), ()), "mehendi": (("Ethnic",), ()), "engagement": (("Ethnic", "Formal"), ()),
    "diwali": (("Ethnic",), ()), "eid": (("Ethnic",), ()), "puja": (("Ethnic",), ()), "navratri": (("Ethnic",), ()),
    "holi": (("Casual", "Ethnic"), ()), "festival": (("Ethnic",), ()), "temple": (("Ethnic",), ()),
    "office": (("Formal", "Smart Casual"), ()), "work": (("Formal", "Smart Casual"), ()),
    "meeting": (("Formal",), ()), "interview": (("Formal",), ()), "business": (("Formal",), ()),
    "conference": (("Formal",), ()), "presentation": (("Formal",), ()),
    "gym": (("Sports",), ()), "workout": (("Sports",), ()), "training": (("Sports",), ()), "running": (("Sports",), ()),
    "jogging": (("Sports",), ()), "jog": (("Sports",), ()), "run": (("Sports",), ()),
    **{f"{w} run": (("Sports",), ()) for w in ("morning", "evening", "long", "my", "daily", "weekend")}, "yoga": (("Sports",), ()),
    "football": (("Sports",), ()), "footy": (("Sports",), ()), "soccer": (("Sports",), ()),
    "tennis": (("Sports",), ()), "cricket": (("Sports",), ()), "hiking": (("Sports", "Casual"), ()),
    "trek": (("Sports", "Casual"), ()), "marathon": (("Sports",), ()), "exercise": (("Sports",), ()),
    "party": (("Party", "Casual"), _EVENING), "night out": (("Party", "Casual"), _EVENING),
    "clubbing": (("Party", "Casual"), _EVENING), "date night": (("Party", "Casual"), _EVENING),
    "dinner": (("Party", "Casual", "Smart Casual"), ()), "cocktail": (("Party",), _EVENING),
    "prom": (("Party", "Formal"), _EVENING), "brunch": (("Casual",), ()),
    "beach": (("Casual",), ("Flip Flops", "Shorts", "Sunglasses", "Swimwear", "Sandals", "Dresses")),
    "pool": (("Casual",), ("Swimwear", "Flip Flops", "Shorts")), "holiday": (("Casual", "Travel"), ()),
    "vacation": (("Casual", "Travel"), ()), "travel": (("Travel", "Casual"), ()), "trip": (("Casual", "Travel"), ()),
    "weekend": (("Casual",), ()), "everyday": (("Casual",), ()), "college": (("Casual",), _STUDENT_BAGS),
    "school": (("Casual",), _STUDENT_BAGS), "uni": (("Casual",), _STUDENT_BAGS), "university": (("Casual",), _STUDENT_BAGS), "lounging": (("Casual",), ("Lounge Pants", "Lounge Shorts", "Night suits")),
    "bedtime": ((), ("Night suits", "Nightdress", "Lounge Pants")), "sleep": ((), ("Night suits", "Nightdress")),
    "winter": ((), ("Jackets", "Sweaters", "Sweatshirts", "Mufflers", "Gloves", "Scarves", "Stoles")),
    "cold": ((), ("Jackets", "Sweaters", "Sweatshirts", "Mufflers", "Gloves")),
    "something warm": ((), _WARM), "keep warm": ((), _WARM), "stay warm": ((), _WARM), "warm clothes": ((), _WARM),
    "keep her warm": ((), _WARM), "keep him warm": ((), _WARM), "keep me warm": ((), _WARM),
    "snow": ((), ("Jackets", "Sweaters", "Gloves", "Mufflers")),
    "rain": ((), ("Rain Jacket", "Umbrellas", "Flip Flops")), "monsoon": ((), ("Rain Jacket", "Umbrellas", "Flip Flops")),
    "summer": (("Casual",), ()), "hot weather": (("Casual",), ()),
}

# People the item is for: a stated gender (a filter). Ages and "kids" suggest one (soft).
PEOPLE: dict[str, tuple[str, ...]] = {
    "father": ("Men",), "dad": ("Men",), "daddy": ("Men",), "papa": ("Men",), "husband": ("Men",),
    "hubby": ("Men",), "boyfriend": ("Men",), "bf": ("Men",), "brother": ("Men",), "bro": ("Men",), "twin brother": ("Men",),
    "grandpa": ("Men",), "grandfather": ("Men",), "grandad": ("Men",), "granddad": ("Men",), "gramps": ("Men",),
    "uncle": ("Men",), "fiance": ("Men",), "groom": ("Men",),
    "gentleman": ("Men",), "gentlemen": ("Men",), "guy": ("Men",), "guys": ("Men",), "him": ("Men",),
    "mother": ("Women",), "mom": ("Women",), "mum": ("Women",), "mummy": ("Women",), "mama": ("Women",),
    "wife": ("Women",), "missus": ("Women",), "girlfriend": ("Women",), "gf": ("Women",), "sister": ("Women",), "twin sister": ("Women",),
    "sis": ("Women",), "grandma": ("Women",), "grandmother": ("Women",), "granny": ("Women",), "gran": ("Women",),
    "nani": ("Women",), "dadi": ("Women",), "aunt": ("Women",), "auntie": ("Women",),
    "fiancee": ("Women",), "bride": ("Women",), "her": ("Women",), "lady": ("Women",), "ladies": ("Women",),
    "son": ("Boys",), "nephew": ("Boys",), "grandson": ("Boys",), "schoolboy": ("Boys",),
    "daughter": ("Girls",), "niece": ("Girls",), "granddaughter": ("Girls",), "schoolgirl": ("Girls",),
    # a teenager wears a child's size or an adult's (ADULT_AGE below)
    **{f"{t} {w}": ("Boys", "Men") for t in ("teen", "teenage", "teenaged") for w in ("boy", "boys", "son", "guy")},
    **{f"{t} {w}": ("Girls", "Women") for t in ("teen", "teenage", "teenaged") for w in ("girl", "girls", "daughter")},
    "teenage niece": ("Girls", "Women"), "teenage nephew": ("Boys", "Men"), "toddler": ("Boys", "Girls"), "kids": ("Boys", "Girls"), "kid": ("Boys", "Girls"),
    "children": ("Boys", "Girls"), "child": ("Boys", "Girls"), "baby": ("Boys", "Girls"),
    "unisex": ("Unisex",), "anyone": ("Unisex",),
}
# A word for this many kinds of item or more names a category ("underwear", "shoes", "bag"); a word
# for fewer is one thing the catalog files under either ("vest": innerwear or waistcoat).
CATEGORY_KINDS = 3
# Kinds whose name is also the everyday word for any item of their sub-category: a "top" for a man or a boy is
# a tee or a shirt, where the catalog files its Tops for women and girls.
EVERYDAY_KINDS = frozenset({"Tops"})
# Words for a kind of item that also say whom it is for ("panties for me": a woman's briefs; "leggings to
# wear under my kurtis": hers), as read, of the kind asked or of the one it goes with. Not the catalog's own
# names ("Kurtis": one is a man's), which a request in force is re-read from.
WORN_BY: dict[str, tuple[str, ...]] = {
    **{w: ("Women",) for w in ("panties", "panty", "knickers", "knicker", "kurti", "kurtie", "kurties")},
    **{w: ("Men",) for w in ("y fronts", "y front", "yfronts")},
}
# "I'm a man", "as a woman": the shopper says who they are.
SELF_WORDS: dict[str, tuple[str, ...]] = {
    "man": ("Men",), "guy": ("Men",), "male": ("Men",), "dude": ("Men",), "bloke": ("Men",),
    "woman": ("Women",), "girl": ("Women",), "female": ("Women",), "lady": ("Women",),
    "f": ("Women",), "m": ("Men",),  # "for me (f)"
}
# Below this age a person is a child (Boys/Girls in the catalog), from it an adult.
ADULT_AGE = 14
GROWN_AGE = 18  # ...and from this age no longer wears a child's size
GROWN_UP = {"Boys": "Men", "Girls": "Women"}  # a child's gender in the catalog -> the adult's

# What goes with what: a worn item -> kinds of item that complete the outfit.
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "Tshirts": ("Jeans", "Shorts", "Track Pants", "Casual Shoes"), "Shirts": ("Trousers", "Jeans", "Formal Shoes", "Ties",
                                                                             "Belts"),
    "Tops": ("Jeans", "Skirts", "Leggings", "Shorts", "Flats"), "Kurtas": ("Churidar", "Salwar", "Patiala", "Leggings",
                                                                         "Sandals"),
    "Kurtis": ("Leggings", "Churidar", "Jeans", "Flats"), "Tunics": ("Leggings", "Jeggings", "Jeans", "Flats"),
    "Jeans": ("Tshirts", "Shirts", "Tops", "Casual Shoes", "Belts"), "Trousers": ("Shirts", "Formal Shoes", "Belts"),
    "Shorts": ("Tshirts", "Flip Flops", "Casual Shoes"), "Skirts": ("Tops", "Heels", "Flats"),
    "Track Pants": ("Tshirts", "Sports Shoes", "Sweatshirts"), "Leggings": ("Kurtis", "Tunics", "Tops"),
    "Dresses": ("Heels", "Flats", "Clutches", "Handbags", "Earrings", "Sandals"),
    "Sarees": ("Heels", "Clutches", "Earrings", "Bangle", "Sandals"), "Jackets": ("Tshirts", "Jeans", "Casual Shoes"),
    "Sweaters": ("Jeans", "Trousers", "Shirts"), "Sweatshirts": ("Track Pants", "Jeans", "Sports Shoes"),
    "Blazers": ("Shirts", "Trousers", "Formal Shoes", "Ties"), "Casual Shoes": ("Jeans", "Tshirts", "Socks"),
    "Sports Shoes": ("Track Pants", "Tshirts", "Socks", "Shorts"), "Formal Shoes": ("Trousers", "Shirts", "Belts", "Socks"),
    "Heels": ("Dresses", "Clutches", "Handbags", "Tops"), "Flats": ("Dresses", "Tops", "Kurtis", "Handbags"),
    "Sandals": ("Dresses", "Tops", "Shorts"), "Flip Flops": ("Shorts", "Tshirts"), "Handbags": ("Dresses", "Heels",
                                                                                                "Tops"),
    "Clutches": ("Dresses", "Heels", "Sarees", "Earrings"), "Watches": ("Shirts", "Belts", "Wallets"),
    "Belts": ("Jeans", "Trousers"), "Ties": ("Shirts", "Blazers", "Cufflinks"), "Sunglasses": ("Tshirts", "Caps",
                                                                                               "Shorts"),
}

# The words for who it is for that a typo is matched against ("womn", "ladis", "husbnd"); not the
# short relatives ("niece" is one letter from "nice"), which are read only as written.
FUZZY_PEOPLE = frozenset({"women", "woman", "womens", "mens", "ladies", "girls", "boys", "gents", "female",
                          "male", "unisex", "kids", "husband", "daughter", "girlfriend", "boyfriend", "grandfather",
                          "grandmother"})  # the long relatives: no everyday word is a letter or two from them
