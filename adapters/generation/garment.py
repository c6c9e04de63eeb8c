"""Only the garment of a catalog shot: the catalog model's face, hair and skin, and the other
clothes they wear, left out of a try-on composite. numpy and PIL only.

Catalog shots of clothes usually show a person wearing the product: a T-shirt over jeans, a
kurta over leggings, the model's head, hair and arms. The cut-out
(:mod:`adapters.generation.cutout`) separates all of that from the white background; this
module then keeps the product alone:

1. **the head**: skin by a fixed chrominance rule (YCrCb, Chai and Ngan's 133-173 Cr /
   77-127 Cb); the largest skin blob near the top of the figure, centred and face-shaped,
   is the face, and every row down to its chin and neck goes, hair included;
2. **skin**: the pixels nearer (CIELAB) that face's own tone than the garment's colour (read
   just below the chin): arms, hands, legs; skipped when it would take over a third of what
   is left (a skin-coloured garment);
3. **the other garment**: for a top that ends at the waist, the rows below it whose colour
   leaves the top's own (median per row, three rows in a row): the jeans under a T-shirt.

Shots with no face (flat shots, torsos cropped at the neck) and products that are not
clothes keep the whole cut-out: nothing tells a person's skin from the product there.
Measured by hand on catalog shots: ``bench/results/tryon_garment_handcheck.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

from adapters.generation.cutout import Cutout, cutout_from_mask, drop_small_components, label_components, morph

# clothes worn by the catalog's models (its Apparel types, belts and socks aside): the head comes off these
GARMENTS = frozenset("""baby dolls|bath robe|blazers|boxers|bra|briefs|camisoles|capris|churidar|dresses|innerwear vests|
jackets|jeans|jeggings|jumpsuit|kurta sets|kurtas|kurtis|leggings|lehenga choli|lounge pants|lounge shorts|nehru jackets|
night suits|nightdress|patiala|rain jacket|robe|rompers|salwar|salwar and dupatta|sarees|shapewear|shirts|shorts|shrug|
skirts|suspenders|sweaters|sweatshirts|swimwear|tops|track pants|tracksuits|trousers|trunk|tshirts|tunics|
waistcoat""".replace("\n", "").split("|"))
# tops that end at the waist, above another garment (long kurtas, tunics, dresses do not)
WAIST_TOPS = frozenset({"tshirts", "shirts", "tops", "sweaters", "sweatshirts", "jackets", "blazers", "waistcoat",
                        "rain jacket", "nehru jackets", "shrug", "camisoles", "innerwear vests"})
MIN_SKIN_SHARE = 0.02  # of the figure: below this the shot shows no person
MAX_SKIN_SHARE = 0.35  # of what is left below the head: arms and legs, not the garment
SKIN_NEAR = 18.0  # CIELAB distance to the face's tone still counted as skin
COLOUR_STEP = 28.0  # CIELAB distance from the garment's colour that ends it
RUN = 3  # ... for this many rows in a row


@dataclass(frozen=True)
class GarmentMask:
    mask: np.ndarray  # bool, image size: True = the product
    person: bool  # the shot shows skin (a person), whether or not anything could be removed
    removed: tuple[str, ...]  # what was left out: "head", "skin", "garment below"


def skin_pixels(rgb: np.ndarray) -> np.ndarray:
    """Chai & Ngan's chrominance skin rule, on an (H, W, 3) uint8 array."""
    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.int16)
    y, cb, cr = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    return (y > 40) & (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)


def lab_pixels(rgb: np.ndarray) -> np.ndarray:
    srgb = ImageCms.createProfile("sRGB")
    lab = ImageCms.createProfile("LAB")
    tf = ImageCms.buildTransformFromOpenProfiles(srgb, lab, "RGB", "LAB")
    out = np.asarray(ImageCms.applyTransform(Image.fromarray(rgb), tf), dtype=np.float32)
    return np.stack([out[..., 0] * 100 / 255, out[..., 1] - 128, out[..., 2] - 128], -1)


def _largest_blob(mask: np.ndarray) -> np.ndarray | None:
    labels, n = label_components(mask)
    if not n:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    return labels == (int(np.argmax(sizes)) + 1)


def _chin(skin: np.ndarray, top: int, height: int) -> tuple[int | None, np.ndarray | None]:
    """(the lowest row of the face and neck, the face's pixels): the largest skin blob in the
    figure's top third."""
    window = np.zeros_like(skin)
    window[top:top + max(1, height // 3)] = True
    face = _largest_blob(skin & window)
    if face is None or face.sum() < 0.004 * skin.size:
        return None, None
    rows, cols = np.flatnonzero(face.any(1)), np.flatnonzero(face.any(0))
    tall, wide = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    centre = (cols.min() + cols.max()) / 2 / skin.shape[1]
    if rows.min() > top + height * 0.1 or not 0.8 <= tall / wide <= 2.6 or not 0.25 <= centre <= 0.75:
        return None, None  # an arm or a skin-coloured garment, not a face at the top of the figure
    grow = skin.copy()
    grow[: rows.min()] = False
    below = _largest_blob(grow & morph(face, 1, "dilate"))  # the neck continues the face
    last = rows.max() if below is None else max(rows.max(), min(np.flatnonzero(below.any(1)).max(),
                                                                  rows.max() + height // 12))
    return int(last), face


def _colour_edge(garment: np.ndarray, lab: np.ndarray, rows: range, ref_rows: range) -> int | None:
    """The first row in ``rows`` (scanned in order) where the garment's colour ends."""
    ref_px = lab[ref_rows.start:ref_rows.stop][garment[ref_rows.start:ref_rows.stop]]
    if len(ref_px) < 10:
        return None
    ref = np.median(ref_px, 0)
    run = 0
    for r in rows:
        px = lab[r][garment[r]]
        if len(px) < 2:
            continue
        run = run + 1 if np.linalg.norm(np.median(px, 0) - ref) > COLOUR_STEP else 0
        if run >= RUN:
            return r - (RUN - 1) * (1 if rows.step > 0 else -1)
    return None


def garment_mask(img: Image.Image, cutout_mask: np.ndarray, article_type: str | None) -> GarmentMask:
    """The product's own pixels inside ``cutout_mask`` (see the module docstring)."""
    fg = cutout_mask.copy()
    if (article_type or "").lower() not in GARMENTS or not fg.any():
        return GarmentMask(fg, False, ())
    rgb = np.asarray(img.convert("RGB"))
    skin = skin_pixels(rgb) & fg
    if skin.sum() < MIN_SKIN_SHARE * fg.sum():
        return GarmentMask(fg, False, ())
    ys = np.flatnonzero(fg.any(1))
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    removed = []
    chin, face = _chin(skin, top, height)
    if chin is None:  # no face: nothing tells this person's skin from a skin-coloured garment
        return GarmentMask(fg, True, ())
    lab = lab_pixels(rgb)
    tone = np.median(lab[face], 0)
    fg[: chin + 1] = False
    removed.append("head")
    top = chin + 1
    band = fg.copy()
    band[: top + (bottom - top) // 10] = False
    band[top + (bottom - top) // 3:] = False
    cloth = lab[band & (np.linalg.norm(lab - tone, axis=-1) > SKIN_NEAR)]
    if len(cloth) >= 10:  # skin is what is nearer this person's face than the garment's colour
        d_skin = np.linalg.norm(lab - tone, axis=-1)
        d_cloth = np.linalg.norm(lab - np.median(cloth, 0), axis=-1)
        arms = morph(fg & (d_skin < SKIN_NEAR) & (d_skin < d_cloth), 1, "dilate") & fg
        if arms.sum() <= MAX_SKIN_SHARE * fg.sum():  # more would be the garment itself
            fg &= ~arms
            removed.append("skin")
    return _other_garments(fg, lab, top, bottom, (article_type or "").lower(), removed)


def _other_garments(fg: np.ndarray, lab: np.ndarray, top: int, bottom: int, kind: str, removed: list) -> GarmentMask:
    height = max(1, bottom - top + 1)
    if kind in WAIST_TOPS:
        ref = range(top + height // 10, top + height // 3)
        edge = _colour_edge(fg, lab, range(top + int(height * 0.4), bottom + 1), ref)
        if edge is not None:
            fg[edge:] = False
            removed.append("garment below")
    return GarmentMask(drop_small_components(fg, 0.05), True, tuple(removed))


def keep_garment(img: Image.Image, cut: Cutout, article_type: str | None) -> tuple[Cutout, tuple[str, ...]]:
    """``cut`` reduced to the garment alone: (the new cut-out, what was removed). Unchanged
    when nothing was found to remove."""
    rgb = img.convert("RGB")
    found = garment_mask(rgb, cut.mask, article_type)
    if not found.removed or not found.mask.any():
        return cut, ()
    return cutout_from_mask(rgb, found.mask, cut.background, True), found.removed
