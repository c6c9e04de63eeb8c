"""The try-on garment mask on catalog shots, for a person to check by hand.

Writes a sheet of 24 random Apparel shots of a split: for each, the shot, the plain cut-out
(what the try-on composite pasted before) and the garment alone (what it pastes now), on
grey, plus the list of products. The judgments of one such sheet are recorded by hand in
``bench/results/tryon_garment_handcheck.json``.
Run: python bench/tryon_garment_sheet.py [--split test] [--seed 11] [--out bench/results/tryon_garment_test.png]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.generation.cutout import product_mask  # noqa: E402
from adapters.generation.garment import garment_mask  # noqa: E402
from retrieval.catalog import SAMPLE_CATALOG, read_catalog, split_of  # noqa: E402


def triple(path: str, article_type: str, scale: int = 2) -> tuple[Image.Image, tuple[str, ...]]:
    im = Image.open(path).convert("RGB")
    fg, _, _ = product_mask(im)
    found = garment_mask(im, fg, article_type)
    grey = np.full((im.height, im.width, 3), 90, np.uint8)
    row = Image.new("RGB", (im.width * 3, im.height))
    row.paste(im, (0, 0))
    for i, mask in enumerate((fg, found.mask), start=1):
        row.paste(Image.fromarray(np.where(mask[..., None], np.asarray(im), grey)), (i * im.width, 0))
    return row.resize((row.width * scale, row.height * scale), Image.Resampling.NEAREST), found.removed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--out", default="bench/results/tryon_garment_test.png")
    args = ap.parse_args()
    products = [p for p in read_catalog(SAMPLE_CATALOG).products
                if p.master_category == "Apparel" and p.image and split_of(p.id) == args.split]
    random.Random(args.seed).shuffle(products)
    rows = [(p, *triple(p.image, p.article_type)) for p in products[:args.n]]
    w, h = rows[0][1].size
    sheet = Image.new("RGB", (4 * (w + 10), ((len(rows) + 3) // 4) * (h + 6)), "white")
    for i, (p, row, removed) in enumerate(rows):
        sheet.paste(row, ((i % 4) * (w + 10), (i // 4) * (h + 6)))
        print(i, p.id, p.article_type, p.base_colour, ",".join(removed) or "-")
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
