"""The offline default generator: a compositing preview, labelled as such.

It needs no diffusion weights and shows something true: the real catalog picture of the
product, cut out of its white background (:mod:`adapters.generation.cutout`), pasted onto
the shopper's photo (``try_on``: where that kind of product is worn on a person standing
in the middle of a portrait photo) or the room photo (``in_room``: standing on the
floor-ish lower middle, with a soft contact shadow), or into the given box or mask. The
output has the photo's size. ``imagine`` cannot be done without a generative model: the
result has no image and says so, and the description goes to text search instead.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.generation.base import GeneratedImage, stamp_label
from adapters.generation.cutout import Cutout, CutoutConfig, cut_out
from adapters.generation.garment import keep_garment
from adapters.imaging import DEFAULT_LIMITS, ImageLimits, load_image
from adapters.output.request import ImageGenRequest, RequestError

logger = logging.getLogger(__name__)

BACKEND = "composite"
LABEL = "Composite preview, not a generated photo: the catalog picture of the product pasted onto {what}"
IMAGINE_LABEL = ("No image: the offline compositor cannot imagine new products (no diffusion model is "
                 "configured), so the description is searched as text instead")

# Where a kind of product goes on a person in a portrait photo: (x0, y0, x1, y1) as photo fractions.
_WORN = (
    (("sunglass", "spectacle", "eyewear", "frames"), (0.36, 0.10, 0.64, 0.20)),
    (("cap", "hat", "headband"), (0.34, 0.00, 0.66, 0.14)),
    (("earring", "necklace", "pendant", "chain", "scarf", "stole", "tie"), (0.38, 0.16, 0.62, 0.36)),
    (("watch", "bracelet", "bangle", "wristband", "ring"), (0.62, 0.44, 0.76, 0.56)),
    (("shoe", "heel", "sandal", "flip flop", "flats", "boot", "sneaker", "slipper", "socks"), (0.30, 0.80, 0.70, 0.94)),
    (("jean", "trouser", "track pant", "short", "skirt", "legging", "capri", "pyjama", "lounge pant", "tights"),
     (0.28, 0.44, 0.72, 0.92)),
    (("dress", "kurta", "saree", "sari", "nightdress", "robe", "jumpsuit", "tunic", "innerwear vest", "swimwear"),
     (0.24, 0.18, 0.76, 0.82)),
    (("bag", "backpack", "clutch", "wallet", "belt"), (0.56, 0.38, 0.86, 0.70)),
)
_TORSO = (0.24, 0.18, 0.76, 0.62)  # tops, shirts, t-shirts, jackets, sweaters, and anything unknown
_FLOOR = (0.30, 0.42, 0.70, 0.92)  # in_room: lower middle, standing on the floor


def default_box(mode: str, photo_size: tuple[int, int], article_type: str | None = None) -> tuple[int, int, int, int]:
    """A sensible placement box in photo pixels for ``mode`` and the product's kind."""
    frac = _FLOOR
    if mode == "try_on":
        kind = (article_type or "").lower()
        frac = next((box for words, box in _WORN if any(w in kind for w in words)), _TORSO)
    w, h = photo_size
    return (round(frac[0] * w), round(frac[1] * h), round(frac[2] * w), round(frac[3] * h))


class CompositeGenerator:
    """``generate(request)``: a labelled composite (try_on, in_room) or a labelled no-image (imagine)."""

    name = BACKEND

    def __init__(self, cutout: CutoutConfig = CutoutConfig(), limits: ImageLimits = DEFAULT_LIMITS,
                 stamp: bool = True):
        self.cutout = cutout
        self.limits = limits
        self.stamp = stamp  # write the label visibly onto the image too

    def generate(self, request: ImageGenRequest) -> GeneratedImage:
        start = time.perf_counter()
        if request.mode == "imagine":
            return GeneratedImage(None, BACKEND, IMAGINE_LABEL, request.seed, time.perf_counter() - start, request)
        photo = load_image(request.photo, self.limits, name=f"photo {request.photo}")
        product = load_image(request.product_image, self.limits, name=f"product image {request.product_image}")
        box, region = placement(request, photo, self.limits)
        cut, removed = product_cutout(product, request, self.cutout)
        out, placed = paste(photo, cut, box, floor=request.mode == "in_room", region=region)
        what = "your photo" if request.mode == "try_on" else "the room photo"
        label = LABEL.format(what=what)
        if not cut.clean:
            label += " (its background was not plain, so the whole catalog picture is shown)"
        elif "head" in removed:
            label += " (the catalog model's head" + (" and skin" if "skin" in removed else "") + " left out)"
        if self.stamp:
            out = stamp_label(out, "composite preview - not a generated photo")
        extras = {"box": box, "placed": placed, "clean_cutout": bool(cut.clean), "background": cut.background,
                  "removed": list(removed)}
        logger.info("composite %s: product placed at %s", request.mode, placed)
        return GeneratedImage(out, BACKEND, label, request.seed, time.perf_counter() - start, request, extras)


def product_cutout(product: Image.Image, request: ImageGenRequest, cfg: CutoutConfig) -> tuple[Cutout, tuple[str, ...]]:
    """The product cut out of its catalog shot; for ``try_on`` the garment only, not the catalog
    model's face and arms: (cut-out, what was left out)."""
    cut = cut_out(product, cfg)
    if request.mode == "try_on" and cut.clean:
        return keep_garment(product, cut, request.article_type)
    return cut, ()


def placement(request: ImageGenRequest, photo: Image.Image, limits: ImageLimits = DEFAULT_LIMITS
              ) -> tuple[tuple[int, int, int, int], Image.Image | None]:
    """(box, region) for the product on ``photo``: from the request's mask (its bounding box,
    the mask as region), its box, or :func:`default_box`. Raises RequestError for a mask that
    does not match the photo, an empty mask, or a box outside the photo."""
    if request.mask:
        region = load_image(request.mask, limits, name=f"mask {request.mask}").convert("L")
        if region.size != photo.size:
            raise RequestError(f"the mask is {region.width}x{region.height} but the photo is "
                               f"{photo.width}x{photo.height}: they must match")
        region = Image.eval(region, lambda v: 255 if v >= 128 else 0)
        box = region.getbbox()
        if box is None:
            raise RequestError("the mask is empty: paint the area to place the product in white")
        return box, region
    if request.box:
        box = request.box
        if box[2] > photo.width or box[3] > photo.height:
            raise RequestError(f"box {box} is outside the {photo.width}x{photo.height} photo")
        return box, None
    return default_box(request.mode, photo.size, request.article_type), None


def paste(photo: Image.Image, cut: Cutout, box: tuple[int, int, int, int], *, floor: bool = False,
          region: Image.Image | None = None) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """``photo`` with the cut-out fitted into ``box`` (aspect kept; centred, or standing on its
    bottom edge when ``floor``), clipped to ``region`` when given. Returns (image, placed box)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    scale = min(bw / cut.image.width, bh / cut.image.height)
    pw, ph = max(1, round(cut.image.width * scale)), max(1, round(cut.image.height * scale))
    px = x0 + (bw - pw) // 2
    py = y1 - ph if floor else y0 + (bh - ph) // 2
    prod = cut.image.resize((pw, ph), Image.Resampling.LANCZOS)
    alpha = cut.alpha.resize((pw, ph), Image.Resampling.BILINEAR)
    out = photo.copy()
    if floor and cut.clean:
        out = _contact_shadow(out, (px, py, px + pw, py + ph))
    if region is not None:
        clip = region.crop((px, py, px + pw, py + ph))
        alpha = Image.fromarray((np.asarray(alpha, np.float32) * np.asarray(clip, np.float32) / 255).astype(np.uint8))
    out.paste(prod, (px, py), alpha)
    return out, (px, py, px + pw, py + ph)


def _contact_shadow(img: Image.Image, placed: tuple[int, int, int, int]) -> Image.Image:
    x0, y0, x1, y1 = placed
    w, h = x1 - x0, y1 - y0
    layer = Image.new("L", img.size, 0)
    ImageDraw.Draw(layer).ellipse((x0 + w * 0.05, y1 - h * 0.04, x1 - w * 0.05, y1 + h * 0.04), fill=110)
    layer = layer.filter(ImageFilter.GaussianBlur(max(1.0, h * 0.02)))
    dark = Image.new("RGB", img.size, (0, 0, 0))
    return Image.composite(dark, img, layer)
