"""The generation request schema and the output adaptor's intent parsing (pure, no models)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adapters.output import (
    ImageGenRequest,
    ProductRef,
    RequestError,
    build_request,
    detect_mode,
    parse_image_request,
)

SHIRT = ProductRef(id="15970", title="Turtle Check Men Navy Blue Shirt", colour="Navy Blue",
                   article_type="Shirts", gender="Men", image_path="/catalog/15970.jpg")
SOFA = ProductRef(id="99", title="Urban Grey Fabric Sofa", colour="Grey", article_type="Sofa",
                  image_path="/catalog/99.jpg")


def test_json_round_trip_with_all_fields():
    emb = np.random.default_rng(0).standard_normal((1, 4, 8)).astype(np.float32)
    req = ImageGenRequest(mode="in_room", prompt="a sofa", negative_prompt="blurry", product_image="/p.jpg",
                          photo="/room.jpg", box=(10, 20, 110, 220), seed=42, width=640, height=384,
                          num_inference_steps=30, guidance_scale=5.5, strength=0.6, product_id="99",
                          article_type="Sofa", prompt_embeds=emb)
    text = req.to_json()
    data = json.loads(text)
    assert data["prompt_embeds"]["shape"] == [1, 4, 8] and data["box"] == [10, 20, 110, 220]
    back = ImageGenRequest.from_json(text)
    assert back == req  # prompt_embeds is compared separately (arrays have no ==)
    assert back.box == (10, 20, 110, 220)
    np.testing.assert_array_equal(back.prompt_embeds, emb)
    assert ImageGenRequest.from_json(back.to_json()).to_json() == text


def test_json_round_trip_of_a_built_request_and_torch_embeds():
    import torch

    req = build_request("imagine a green velvet sofa", prompt_embeds=torch.ones(1, 3, 5))
    back = ImageGenRequest.from_json(req.to_json())
    assert back == req and back.prompt_embeds.shape == (1, 3, 5) and float(back.prompt_embeds.sum()) == 15.0


def test_diffusers_kwargs_map_one_to_one():
    req = ImageGenRequest(mode="imagine", prompt="red dress", negative_prompt="blurry", width=256, height=320,
                          num_inference_steps=4, guidance_scale=3.0)
    assert req.diffusers_kwargs() == {"prompt": "red dress", "negative_prompt": "blurry", "num_inference_steps": 4,
                                      "guidance_scale": 3.0, "width": 256, "height": 320}
    emb = np.zeros((1, 2, 3), np.float32)
    kw = ImageGenRequest(mode="imagine", prompt_embeds=emb).diffusers_kwargs()
    assert "prompt" not in kw and kw["prompt_embeds"] is emb


@pytest.mark.parametrize("kwargs, words", [
    (dict(width=500), "multiple of 8"),
    (dict(width=32), "64..2048"),
    (dict(height=4096), "64..2048"),
    (dict(num_inference_steps=0), "1..150"),
    (dict(num_inference_steps=151), "1..150"),
    (dict(guidance_scale=31), "guidance_scale"),
    (dict(strength=0), "strength"),
    (dict(seed=-1), "seed"),
    (dict(mode="paint"), "unknown mode"),
    (dict(prompt=""), "description"),
    (dict(prompt_embeds=np.zeros((4, 8))), "(batch, tokens, dim)"),
])
def test_out_of_range_requests_are_refused(kwargs, words):
    base = dict(mode="imagine", prompt="a red dress")
    with pytest.raises(RequestError, match=None) as err:
        ImageGenRequest(**{**base, **kwargs})
    assert words in str(err.value)


def test_modes_that_need_images_say_which_one_is_missing():
    with pytest.raises(RequestError, match="reference image"):
        ImageGenRequest(mode="try_on", photo="/me.jpg")
    with pytest.raises(RequestError, match="your photo"):
        ImageGenRequest(mode="try_on", product_image="/p.jpg")
    with pytest.raises(RequestError, match="photo of the room"):
        ImageGenRequest(mode="in_room", product_image="/p.jpg")
    with pytest.raises(RequestError, match="mask or a placement box"):
        ImageGenRequest(mode="in_room", product_image="/p", photo="/r", mask="/m.png", box=(0, 0, 5, 5))
    with pytest.raises(RequestError, match="x0 < x1"):
        ImageGenRequest(mode="in_room", product_image="/p", photo="/r", box=(50, 0, 5, 5))


def test_bad_json_is_a_request_error():
    with pytest.raises(RequestError, match="not valid JSON"):
        ImageGenRequest.from_json("{mode: imagine")
    with pytest.raises(RequestError, match="unknown request field"):
        ImageGenRequest.from_json('{"mode": "imagine", "prompt": "x", "colour": "red"}')
    with pytest.raises(RequestError, match="prompt_embeds"):
        ImageGenRequest.from_json('{"mode": "imagine", "prompt_embeds": {"shape": [1, 2, 2], "data": [1]}}')


@pytest.mark.parametrize("text, mode", [
    ("Can I see it on me?", "try_on"),
    ("try it on", "try_on"),
    ("I'd like to try this on with the sleeves rolled up", "try_on"),
    ("how would I look wearing this", "try_on"),
    ("show me wearing it", "try_on"),
    ("can I see myself in this", "try_on"),
    ("he'd mostly wear it to the gym", None),
    ("i would wear them to the office", None),
    ("how would this look in my living room?", "in_room"),
    ("show me this in my bedroom", "in_room"),
    ("would it fit in our kitchen", "in_room"),
    ("imagine a green velvet sofa with gold legs", "imagine"),
    ("show me what a red summer dress with white polka dots looks like", "imagine"),
    ("find me blue jeans under 40 dollars", None),
    ("what colours does it come in?", None),
    ("", None),
])
def test_intents(text, mode):
    assert detect_mode(text) == mode


def test_prompts_use_the_products_real_attributes_and_the_shoppers_words():
    req = parse_image_request("try this on with the sleeves rolled up", SHIRT, "/me.jpg")
    assert req.mode == "try_on" and req.product_image == SHIRT.image_path and req.photo == "/me.jpg"
    assert "navy blue shirts" in req.prompt and SHIRT.title in req.prompt and "(Men)" in req.prompt
    assert "sleeves rolled up" in req.prompt
    assert "wrong colour" in req.negative_prompt and "extra limbs" in req.negative_prompt
    room = parse_image_request("how would this look in my living room", SOFA, "/room.jpg", seed=7)
    assert room.mode == "in_room" and "grey sofa" in room.prompt and room.seed == 7 and room.article_type == "Sofa"
    imagined = parse_image_request("show me what a red summer dress with white polka dots looks like")
    assert imagined.mode == "imagine" and imagined.product_image is None
    assert "a red summer dress with white polka dots" in imagined.prompt and "white background" in imagined.prompt


def test_no_intent_is_none_and_missing_inputs_are_clear():
    assert parse_image_request("show me cheaper ones", SHIRT, "/me.jpg") is None
    with pytest.raises(RequestError, match="upload one"):
        parse_image_request("can I see it on me", SHIRT, None)
    with pytest.raises(RequestError, match="pick one"):
        parse_image_request("can I see it on me", None, "/me.jpg")
    with pytest.raises(RequestError, match="has none"):
        parse_image_request("try it on", ProductRef("1", "No Picture Tee"), "/me.jpg")
    with pytest.raises(RequestError, match="does not ask for an image"):
        build_request("hello there")


def test_size_for_photo_keeps_the_shape_within_limits():
    from adapters.output.request import size_for_photo

    assert size_for_photo((3000, 4000)) == (384, 512)
    assert size_for_photo((4000, 3000), long_side=768) == (768, 576)
    w, h = size_for_photo((5000, 100))
    assert (w, h) == (512, 64) and ImageGenRequest(mode="imagine", prompt="x", width=w, height=h)
