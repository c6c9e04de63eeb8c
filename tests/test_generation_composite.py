"""The offline compositor on real catalog images: cut-out quality, placement, labels, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adapters.generation import GeneratedImage, ImageGenerator
from adapters.generation.composite import CompositeGenerator, default_box
from adapters.generation.cutout import cut_out, label_components, product_mask
from adapters.generation.evaluation import iou, reference_labels, score_mask, synthetic_shot
from adapters.imaging import ImageError
from adapters.output import ImageGenRequest, ProductRef, RequestError, build_request
from retrieval.catalog import read_catalog


@pytest.fixture(scope="module")
def products(sample_catalog_path):
    return [p for p in read_catalog(sample_catalog_path).products if p.image][:120]


def _ref(p) -> ProductRef:
    return ProductRef(p.id, p.title, p.base_colour, p.article_type, p.gender, p.image)


@pytest.fixture()
def person(tmp_path):
    img = Image.new("RGB", (300, 420), (110, 140, 170))
    d = ImageDraw.Draw(img)
    d.ellipse((125, 30, 175, 95), fill=(230, 190, 160))
    d.rectangle((95, 95, 205, 260), fill=(70, 70, 70))
    path = tmp_path / "me.png"
    img.save(path)
    return path


@pytest.fixture()
def room(tmp_path):
    img = Image.new("RGB", (480, 320), (222, 212, 190))
    ImageDraw.Draw(img).rectangle((0, 200, 480, 320), fill=(150, 110, 80))
    path = tmp_path / "room.jpg"
    img.save(path)
    return path


def test_cutout_keeps_the_product_and_drops_the_white_background(products):
    scores = []
    for p in products:
        img = Image.open(p.image).convert("RGB")
        labels = reference_labels(img)
        if labels is not None:
            scores.append(score_mask(product_mask(img)[0], labels))
    assert len(scores) >= 60
    assert np.mean([s.passed for s in scores]) >= 0.95
    assert np.mean([s.kept for s in scores]) > 0.98 and np.mean([s.dropped for s in scores]) > 0.98


def test_cutout_matches_exact_synthetic_masks():
    rng = np.random.default_rng(1)
    ious = [iou(product_mask(img)[0], gt) for img, gt in (synthetic_shot(rng) for _ in range(40))]
    assert np.mean(ious) > 0.9 and np.median(ious) > 0.95


def test_hysteresis_keeps_near_white_products_a_single_threshold_floods():
    from adapters.generation.cutout import CutoutConfig

    rng = np.random.default_rng(3)
    shots = [synthetic_shot(rng, grey_range=(228, 246)) for _ in range(30)]
    default = np.mean([iou(product_mask(img)[0], gt) for img, gt in shots])
    loose = np.mean([iou(product_mask(img, CutoutConfig(core_tolerance=None))[0], gt) for img, gt in shots])
    assert default > 0.8 and default > loose + 0.2


def test_cutout_keeps_white_parts_inside_the_product():
    img = Image.new("RGB", (60, 80), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((10, 10, 50, 70), fill=(20, 30, 120))
    d.rectangle((20, 25, 40, 55), fill=(255, 255, 255))  # a white print on a navy shirt
    cut = cut_out(img)
    assert cut.clean and cut.bbox == (10, 10, 51, 71)
    assert cut.mask[40, 30] and not cut.mask[5, 5]


def test_non_uniform_background_is_flagged_not_cut():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (80, 60, 3), dtype=np.uint8))
    cut = cut_out(img)
    assert not cut.clean and cut.mask.all()


def test_label_components():
    m = np.zeros((6, 8), bool)
    m[0:2, 0:2] = True
    m[4:6, 5:8] = True
    labels, n = label_components(m)
    assert n == 2 and len(np.unique(labels[m])) == 2 and (labels[~m] == 0).all()


def test_try_on_composite(products, person):
    shirt = next(p for p in products if p.article_type in ("Tshirts", "Shirts"))
    gen = CompositeGenerator(stamp=False)
    assert isinstance(gen, ImageGenerator)
    out = gen.generate(build_request("can I see it on me", _ref(shirt), str(person)))
    assert isinstance(out, GeneratedImage) and out.backend == "composite"
    assert out.image.size == (300, 420)
    assert "Composite preview" in out.label and "not a generated photo" in out.label
    x0, y0, x1, y1 = out.extras["placed"]
    box = default_box("try_on", (300, 420), shirt.article_type)
    assert box[0] <= x0 < x1 <= box[2] and box[1] <= y0 < y1 <= box[3]
    assert 150 - 3 <= (x0 + x1) / 2 <= 150 + 3  # centred on the torso
    before, after = np.asarray(Image.open(person).convert("RGB")), np.asarray(out.image)
    outside = np.ones(before.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (before[outside] == after[outside]).all()  # nothing changes outside the product
    assert (before[y0:y1, x0:x1] != after[y0:y1, x0:x1]).any(axis=2).mean() > 0.2


def test_in_room_composite_stands_on_the_box_bottom_and_is_stamped(products, room):
    bag = next(p for p in products if p.article_type in ("Handbags", "Backpacks"))
    req = build_request("how would this look in my living room", _ref(bag), str(room), box=(100, 150, 300, 300))
    out = CompositeGenerator().generate(req)
    assert out.image.size == (480, 320) and out.extras["placed"][3] == 300
    assert "room photo" in out.label
    strip = np.asarray(out.image)[-4:, :, :].astype(int)
    assert strip.mean() < 120  # the visible "composite preview" strip along the bottom


def test_mask_places_the_product_inside_it(products, person, tmp_path):
    shoe = next(p for p in products if "Shoes" in (p.article_type or ""))
    mask = Image.new("L", (300, 420), 0)
    ImageDraw.Draw(mask).rectangle((20, 330, 140, 410), fill=255)
    mask.save(tmp_path / "mask.png")
    req = build_request("try it on", _ref(shoe), str(person), mask=str(tmp_path / "mask.png"))
    out = CompositeGenerator(stamp=False).generate(req)
    x0, y0, x1, y1 = out.extras["placed"]
    assert 20 <= x0 and x1 <= 141 and 330 <= y0 and y1 <= 411


def test_saved_png_records_the_backend(products, person, tmp_path):
    out = CompositeGenerator().generate(build_request("try it on", _ref(products[0]), str(person)))
    path = out.save(tmp_path / "out.png")
    info = Image.open(path).info
    assert info["backend"] == "composite" and "Composite preview" in info["label"]


def test_imagine_without_a_model_returns_no_image_but_says_why():
    out = CompositeGenerator().generate(ImageGenRequest(mode="imagine", prompt="a green velvet sofa"))
    assert out.image is None and "cannot imagine" in out.label and "text" in out.label


def test_bad_inputs_give_clear_errors(products, person, tmp_path):
    ref = _ref(products[0])
    gen = CompositeGenerator()
    small = Image.new("L", (100, 100), 255)
    small.save(tmp_path / "small_mask.png")
    with pytest.raises(RequestError, match="mask is 100x100 but the photo is 300x420"):
        gen.generate(build_request("try it on", ref, str(person), mask=str(tmp_path / "small_mask.png")))
    Image.new("L", (300, 420), 0).save(tmp_path / "empty.png")
    with pytest.raises(RequestError, match="mask is empty"):
        gen.generate(build_request("try it on", ref, str(person), mask=str(tmp_path / "empty.png")))
    with pytest.raises(RequestError, match="outside the 300x420 photo"):
        gen.generate(build_request("try it on", ref, str(person), box=(0, 0, 400, 100)))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageError, match="broken.jpg"):
        gen.generate(build_request("try it on", ref, str(tmp_path / "broken.jpg")))
    with pytest.raises(ImageError, match="file not found"):
        gen.generate(build_request("try it on", ProductRef("x", "Gone", image_path="/nope/x.jpg"), str(person)))
