"""How well can a person name a product's catalog colour from its 60x80 shot? A ceiling for
the describe evaluation's grouped colour (issue 14's target 0.80).

``sheet``: N random products of a split (fixed seed), two numbered sheets of 48 showing each
shot and its article type but not its colour, for a person to name a colour group
(:data:`finetune.eval_describe.COLOUR_GROUPS`) per shot. The names are then written by hand,
in sheet order, into ``bench/results/colour_handcheck.json`` ("hand").
``score``: the agreement of those names with the catalog's colour group, beside the tuned
tower's reading (what ``describe_image`` and picture search use) on the same products and on
the whole split, in one run.

Run: python bench/colour_handcheck.py sheet [--split val --seed 20 --n 96]
     python bench/colour_handcheck.py score
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune.eval_describe import GROUP_OF  # noqa: E402
from retrieval.catalog import SAMPLE_CATALOG, Product, read_catalog, split_of  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
JUDGED = RESULTS / "colour_handcheck.json"
PER_SHEET = 48


def split_products(split: str) -> list[Product]:
    return [p for p in read_catalog(SAMPLE_CATALOG).products if p.image and split_of(p.id) == split]


def pick(split: str, seed: int, n: int) -> list[Product]:
    products = split_products(split)
    return [products[i] for i in np.random.default_rng(seed).choice(len(products), n, replace=False)]


def write_sheets(products: list[Product], stem: Path) -> list[Path]:
    paths = []
    for s in range(math.ceil(len(products) / PER_SHEET)):
        sheet = Image.new("RGB", (8 * 130, 6 * 190), "white")
        draw = ImageDraw.Draw(sheet)
        for k, p in enumerate(products[s * PER_SHEET:(s + 1) * PER_SHEET]):
            x, y = (k % 8) * 130, (k // 8) * 190
            sheet.paste(Image.open(p.image).convert("RGB").resize((120, 160)), (x, y))
            draw.text((x + 2, y + 163), f"{s * PER_SHEET + k}: {p.article_type}", fill="black")
        paths.append(stem.with_name(f"{stem.name}_{s}.png"))
        sheet.save(paths[-1])
    return paths


def tower_groups(products: list[Product]) -> list[str | None]:
    """The colour group of the tuned tower's colour reading of each shot."""
    import torch

    from adapters.config import ImageEncoderConfig
    from adapters.loading.encoders import load_image_encoder

    torch.set_num_threads(2)
    encoder = load_image_encoder(ImageEncoderConfig())
    out = []
    for s in range(0, len(products), 64):
        images = [Image.open(p.image).convert("RGB") for p in products[s:s + 64]]
        for read in encoder.attribute_probs(encoder.encode(images)):
            colours = read["base_colour"]
            out.append(GROUP_OF.get(max(colours, key=colours.get).lower()))
    return out


def agreement(names, products) -> float:
    return float(np.mean([n == GROUP_OF.get((p.base_colour or "").lower()) for n, p in zip(names, products)]))


def score(judged: dict) -> dict:
    by_id = {p.id: p for p in read_catalog(SAMPLE_CATALOG).products}
    products = [by_id[i] for i in judged["products"]]
    hand = judged["hand"]
    if len(hand) != len(products) or not set(hand) <= set(GROUP_OF.values()):
        raise ValueError(f"{JUDGED}: need one colour group per product, from {sorted(set(GROUP_OF.values()))}")
    tower = tower_groups(products)
    split = split_products(judged["split"])
    n = len(products)
    figures = {
        "products": n,
        "hand_vs_catalog": agreement(hand, products),
        "tower_vs_catalog": agreement(tower, products),
        "hand_vs_tower": float(np.mean([a == b for a, b in zip(hand, tower)])),
        f"tower_vs_catalog_whole_{judged['split']}": agreement(tower_groups(split), split),
    }
    unseen = [i for i in range(n) if i not in set(judged.get("seen_before", ()))]
    if len(unseen) < n:  # shots whose catalog colour the judge had seen before naming them
        figures[f"hand_vs_catalog_unseen_{len(unseen)}"] = agreement([hand[i] for i in unseen], [products[i] for i in unseen])
    p = figures["hand_vs_catalog"]
    figures["hand_vs_catalog_95ci"] = [round(p - 1.96 * math.sqrt(p * (1 - p) / n), 3),
                                       round(p + 1.96 * math.sqrt(p * (1 - p) / n), 3)]
    figures["hand_differs"] = [
        {"i": i, "id": q.id, "type": q.article_type, "catalog": q.base_colour, "hand": h, "tower": t}
        for i, (q, h, t) in enumerate(zip(products, hand, tower)) if h != GROUP_OF.get((q.base_colour or "").lower())]
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("sheet", "score"))
    ap.add_argument("--split", default="val")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--n", type=int, default=96)
    args = ap.parse_args()
    if args.mode == "sheet":
        products = pick(args.split, args.seed, args.n)
        for path in write_sheets(products, RESULTS / f"colour_handcheck_{args.split}"):
            print(f"wrote {path}")
        print(json.dumps({"split": args.split, "seed": args.seed, "products": [p.id for p in products]}))
        return
    judged = json.loads(JUDGED.read_text())
    judged["figures"] = score(judged)
    JUDGED.write_text(json.dumps(judged, indent=1) + "\n")
    print(json.dumps({k: v for k, v in judged["figures"].items() if k != "hand_differs"}, indent=1))


if __name__ == "__main__":
    main()
