"""Cut a product out of its (mostly white) catalog background. numpy and PIL only.

Method: estimate the background colour as the median of the border pixels; flood the
background from the border through pixels within ``core_tolerance`` of it, then add the
pixels within the looser ``tolerance`` lying at most ``halo`` pixels from that flood (the
JPEG ringing around the product). The hysteresis keeps white garments whole: a single loose
threshold flooded straight into white shirts and sneakers (seen on a visual check of 96
random products; see bench/bench_generation.py). White parts enclosed by the product are
kept. Faint grey shadows under shoes are kept as product. Then drop specks with a morphological
opening and components much smaller than the largest; soften the edge. When the border is
not a uniform colour (a model photographed in a scene), no clean cut-out exists: the
result says so (``clean=False``: under half the border has the background colour) and the whole picture is used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutoutConfig:
    tolerance: float = 30.0  # RGB distance to the background colour still counted as background
    core_tolerance: float | None = 12.0  # hysteresis: flood only through pixels this close, then
    halo: int = 3  # ... take ``tolerance`` pixels within ``halo`` px of that core (JPEG ringing)
    min_border_share: float = 0.5  # share of border pixels that must be background-coloured
    min_component_frac: float = 0.01  # components below this share of the largest are dropped
    open_radius: int = 0  # morphological opening (pixels); 0: thin straps and frames at 60x80 survive
    max_side: int = 512  # the mask is computed at most at this size, then scaled back

    def __post_init__(self) -> None:
        if self.core_tolerance is not None and not 0 < self.core_tolerance <= self.tolerance:
            raise ValueError("CutoutConfig: core_tolerance must be in (0, tolerance]")
        if self.halo < 0:
            raise ValueError("CutoutConfig: halo must be >= 0")
        if not 0 < self.tolerance < 255 or not 0 < self.min_border_share <= 1:
            raise ValueError("CutoutConfig: tolerance must be in (0, 255) and min_border_share in (0, 1]")
        if not 0 <= self.min_component_frac < 1 or self.open_radius < 0 or self.max_side < 16:
            raise ValueError("CutoutConfig: bad min_component_frac, open_radius or max_side")


@dataclass
class Cutout:
    image: Image.Image  # RGB, cropped to the product
    alpha: Image.Image  # L, same size: 255 product, 0 background
    mask: np.ndarray  # bool, full source size: True = product
    background: tuple[int, int, int]
    clean: bool  # False: the background was not uniform and the whole picture is kept
    bbox: tuple[int, int, int, int]  # product box in the source image


def border_pixels(arr: np.ndarray) -> np.ndarray:
    return np.concatenate([arr[0], arr[-1], arr[1:-1, 0], arr[1:-1, -1]])


def _neighbours_any(m: np.ndarray) -> np.ndarray:
    """4-connected dilation of a bool mask by one pixel."""
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    out[:, 1:] |= m[:, :-1]
    out[:, :-1] |= m[:, 1:]
    return out


def reconstruct(seed: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Pixels of ``allowed`` 4-connected to ``seed`` (morphological reconstruction)."""
    cur = seed & allowed
    while True:
        nxt = _neighbours_any(cur) & allowed
        if np.array_equal(nxt, cur):
            return cur
        cur = nxt


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected component labels (0 = outside ``mask``), numbered 1..n, by min-label propagation."""
    h, w = mask.shape
    big = h * w + 1
    lab = np.where(mask, np.arange(1, h * w + 1).reshape(h, w), big)
    while True:
        cur = lab.copy()
        cur[1:] = np.minimum(cur[1:], lab[:-1])
        cur[:-1] = np.minimum(cur[:-1], lab[1:])
        cur[:, 1:] = np.minimum(cur[:, 1:], lab[:, :-1])
        cur[:, :-1] = np.minimum(cur[:, :-1], lab[:, 1:])
        cur = np.where(mask, cur, big)
        if np.array_equal(cur, lab):
            break
        lab = cur
    roots, inv = np.unique(lab[mask], return_inverse=True)
    out = np.zeros((h, w), dtype=np.int32)
    out[mask] = inv + 1
    return out, len(roots)


def morph(mask: np.ndarray, radius: int, op: str) -> np.ndarray:
    """Erode or dilate a bool mask by ``radius`` pixels (square window)."""
    if radius <= 0:
        return mask
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    filt = ImageFilter.MinFilter if op == "erode" else ImageFilter.MaxFilter
    return np.asarray(img.filter(filt(2 * radius + 1))) > 127


def drop_small_components(mask: np.ndarray, frac: float) -> np.ndarray:
    """``mask`` without its connected components smaller than ``frac`` of the largest."""
    labels, n = label_components(mask)
    if not n:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    return np.isin(labels, np.flatnonzero(sizes >= frac * sizes.max()) + 1)


def product_mask(img: Image.Image, cfg: CutoutConfig = CutoutConfig()) -> tuple[np.ndarray, tuple[int, int, int], bool]:
    """(bool mask at ``img`` size, background colour, clean?) for an RGB catalog image."""
    small = img
    if max(img.size) > cfg.max_side:
        scale = cfg.max_side / max(img.size)
        small = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BILINEAR)
    arr = np.asarray(small.convert("RGB"), dtype=np.float32)
    border = border_pixels(arr)
    bg = np.median(border, axis=0)
    border_share = float((np.linalg.norm(border - bg, axis=1) <= cfg.tolerance).mean())
    dist = np.linalg.norm(arr - bg, axis=2)
    seed = np.zeros(dist.shape, bool)
    seed[0, :] = seed[-1, :] = seed[:, 0] = seed[:, -1] = True
    if cfg.core_tolerance is None:
        background = reconstruct(seed, dist <= cfg.tolerance)
    else:
        background = reconstruct(seed, dist <= cfg.core_tolerance)
        near = background
        for _ in range(cfg.halo):
            near = _neighbours_any(near)
        background |= near & (dist <= cfg.tolerance)
    fg = morph(morph(~background, cfg.open_radius, "erode"), cfg.open_radius, "dilate") & ~background
    fg = drop_small_components(fg, cfg.min_component_frac)
    share = fg.mean()
    clean = border_share >= cfg.min_border_share and 0.005 <= share <= 0.98
    if not clean:
        logger.info("no clean cut-out (background on %.0f%% of the border, product share %.3f): "
                    "keeping the whole picture", 100 * border_share, share)
        fg = np.ones_like(fg)
    if small is not img:
        fg = np.asarray(Image.fromarray(fg.astype(np.uint8) * 255).resize(img.size, Image.Resampling.BILINEAR)) > 127
    return fg, tuple(int(round(c)) for c in bg), bool(clean)


def cut_out(img: Image.Image, cfg: CutoutConfig = CutoutConfig()) -> Cutout:
    """The product cropped to its mask, with a soft alpha edge that hides the white fringe."""
    img = img.convert("RGB")
    mask, bg, clean = product_mask(img, cfg)
    return cutout_from_mask(img, mask, bg, clean)


def cutout_from_mask(img: Image.Image, mask: np.ndarray, background: tuple[int, int, int], clean: bool) -> Cutout:
    """``img`` (RGB) cropped to ``mask``, with the soft alpha edge of a clean cut-out."""
    ys, xs = np.nonzero(mask)
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    alpha = Image.fromarray(mask.astype(np.uint8) * 255)
    if clean:
        # one pixel in from the edge, then blurred: the JPEG halo on white does not show
        alpha = alpha.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(0.7))
    return Cutout(image=img.crop(bbox), alpha=alpha.crop(bbox), mask=mask, background=background, clean=clean,
                  bbox=bbox)
