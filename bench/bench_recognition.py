"""How far a shop's own photo is still recognised as its product after it has been passed around.

For a seeded sample of `val` catalog shots, each as it is and altered the way a screenshot or a
forwarded picture is (re-compressed as JPEG, upscaled, cropped, padded), the share whose stored
twin reaches the recognition threshold (``retrieval.photo_edits.SAME_PICTURE``), the cosine to
the original's stored vector, and how often *another* product reaches the threshold (the picture
would then be read as that look-alike's record). Prints the figures and writes JSON.

    python -m bench.bench_recognition --store .store --n 200
"""

from __future__ import annotations

import argparse
import io
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from assistant.services import build_search
from assistant.settings import Settings
from retrieval.catalog import read_catalog, split_of
from retrieval.photo_edits import SAME_PICTURE


def variants(im: Image.Image):
    """The shot as it is, and as a screenshot or a forwarded picture alters it."""
    yield "as is", im
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=60)
    yield "jpeg quality 60", Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    w, h = im.size
    yield "upscaled 2x", im.resize((w * 2, h * 2), Image.BICUBIC)
    yield "cropped 5% a side", im.crop((int(w * .05), int(h * .05), int(w * .95), int(h * .95)))
    padded = Image.new("RGB", (w + 20, h + 20), "white")
    padded.paste(im, (10, 10))
    yield "white border", padded


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=".store")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="bench/results/bench_recognition.json")
    args = ap.parse_args()
    settings = Settings(store_dir=args.store)
    search = build_search(settings).search
    shots = [p for p in read_catalog(settings.catalog).products if split_of(p.id) == "val" and p.image]
    random.Random(args.seed).shuffle(shots)
    rows: dict[str, list[tuple[float, float]]] = {}
    for p in tqdm(shots[: args.n], desc="shots", unit="shot"):
        with Image.open(p.image) as im:
            im = im.convert("RGB")
        for name, v in variants(im):
            vec = search.embedder.embed_images([v])[0]
            near = search.store.query(vec, space="image", where=None, k=4)
            own = next((m.similarity for m in near if m.product.id == p.id), float("nan"))
            other = max((m.similarity for m in near if m.product.id != p.id), default=0.0)
            rows.setdefault(name, []).append((own, other))
    out = {"shots": min(args.n, len(shots)), "threshold": SAME_PICTURE, "variants": {}}
    for name, r in rows.items():
        a = np.array(r, float)
        own = np.nan_to_num(a[:, 0], nan=0.0)
        out["variants"][name] = {
            "recognised": round(float((own >= SAME_PICTURE).mean()), 3),
            "cosine_to_own_p5": round(float(np.percentile(own, 5)), 4),
            "cosine_to_own_min": round(float(own.min()), 4),
            "another_product_at_threshold": round(float((a[:, 1] >= SAME_PICTURE).mean()), 3)}
        v = out["variants"][name]
        print(f"{name:20s} recognised {v['recognised']:.3f}  cosine to its own p5 {v['cosine_to_own_p5']:.3f} "
              f"min {v['cosine_to_own_min']:.3f}  another product at the threshold {v['another_product_at_threshold']:.3f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
