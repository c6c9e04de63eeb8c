"""Ground truth for the cut-out, built independently of :func:`cutout.product_mask`.

Two references, used by the tests and ``bench/bench_generation.py``:

1. **Real catalog shots, confident pixels only.** For a shot whose border is at least 90%
   near-white, a pixel is *certainly background* when it is near-pure white (every channel
   >= 240) and joined to the border through such pixels, and *certainly product* when some
   channel is at least 60 below white (clearly not paper-white, wherever it lies). Pixels in
   between (light greys, JPEG fringes, white parts inside a product) are not scored. A mask
   passes when it keeps >= 97% of the certain-product pixels and drops >= 97% of the
   certain-background ones. This checks that the tolerance, opening and component filter do
   not eat the product or leave the background; it cannot judge the faint edge band.
2. **Synthetic shots with exact masks.** Random ellipses and polygons, some in light colours
   (channels 200..235), on pure white, saved as JPEG at quality 80 like catalog
   images: the pixel mask is known exactly, and IoU with it is scored. A second set uses
   near-white neutral shapes (grey 228..246: white shirts, sneakers) where reference 1 is
   blind: it labels such pixels touching the background as background.

Reference 1 is lenient by construction (a single loose threshold passes it perfectly while
punching holes in white garments), so read it together with reference 2 and the visual
check recorded in ``bench/bench_generation.py``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from adapters.generation.cutout import border_pixels, reconstruct

logger = logging.getLogger(__name__)

WHITE_MIN = 240
PRODUCT_DROP = 60
PASS = 0.97


@dataclass(frozen=True)
class MaskScore:
    kept: float  # share of certain-product pixels inside the mask
    dropped: float  # share of certain-background pixels outside it
    n_product: int
    n_background: int

    @property
    def passed(self) -> bool:
        return self.kept >= PASS and self.dropped >= PASS


def reference_labels(img: Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
    """(certain_product, certain_background) bool masks, or None when the shot is not on white."""
    arr = np.asarray(img.convert("RGB"), dtype=np.int16)
    white = (arr >= WHITE_MIN).all(axis=2)
    if border_pixels(white[..., None]).mean() < 0.9:
        return None
    seed = np.zeros(white.shape, bool)
    seed[0, :] = seed[-1, :] = seed[:, 0] = seed[:, -1] = True
    background = reconstruct(seed, white)
    product = (255 - arr).max(axis=2) >= PRODUCT_DROP
    return product, background


def score_mask(mask: np.ndarray, labels: tuple[np.ndarray, np.ndarray]) -> MaskScore:
    product, background = labels
    kept = float(mask[product].mean()) if product.any() else 1.0
    dropped = float(1 - mask[background].mean()) if background.any() else 1.0
    return MaskScore(kept, dropped, int(product.sum()), int(background.sum()))


def synthetic_shot(rng: np.random.Generator, size: tuple[int, int] = (120, 160),
                   grey_range: tuple[int, int] | None = None) -> tuple[Image.Image, np.ndarray]:
    """A JPEG-compressed product-like shape (at least 5% of the picture) on white and its exact mask.

    ``grey_range=(lo, hi)``: a near-white neutral product (a white shirt or sneaker) instead,
    its grey level drawn from lo..hi and shaded +-4, the hardest case on a white background."""
    w, h = size
    while True:
        mask = _random_shape(rng, size)
        if mask.mean() >= 0.05:  # degenerate slivers are not product shots
            break
    arr = np.full((h, w, 3), 255, np.uint8)
    if grey_range is not None:
        colour = np.full(3, rng.integers(grey_range[0], grey_range[1] + 1))
        texture = rng.integers(-4, 5, size=(h, w, 1))
    else:
        light = rng.random() < 0.3  # light-coloured products: the hard case on white
        colour = rng.integers(200 if light else 0, 236 if light else 256, size=3)
        texture = rng.integers(-12, 13, size=(h, w, 1))
    arr[mask] = np.clip(colour[None, :] + texture[mask], 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=80)
    buf.seek(0)
    return Image.open(buf).convert("RGB"), mask


def _random_shape(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    mask_img = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask_img)
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
    for _ in range(int(rng.integers(1, 4))):
        rx, ry = rng.uniform(0.12, 0.3) * w, rng.uniform(0.12, 0.3) * h
        ox, oy = rng.normal(0, 0.06) * w, rng.normal(0, 0.06) * h
        if rng.random() < 0.5:
            draw.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=255)
        else:
            ang = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 8))))
            draw.polygon([(cx + ox + rx * np.cos(a), cy + oy + ry * np.sin(a)) for a in ang], fill=255)
    return np.asarray(mask_img) > 127


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0
