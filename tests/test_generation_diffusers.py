"""The real diffusers code path on a tiny random-init Stable Diffusion pipeline (no downloads)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from adapters.generation.diffusers_backend import DiffusersGenerator
from adapters.loading import DiffusionLoadError, build_tiny_pipeline, load_diffusion_pipeline
from adapters.output import ImageGenRequest, ProductRef, RequestError, build_request
from retrieval.catalog import read_catalog


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_pipeline(seed=0)


@pytest.fixture(scope="module")
def gen(tiny):
    return DiffusersGenerator(tiny, progress=False, stamp=False)


def _imagine(**kw):
    return ImageGenRequest(**{"mode": "imagine", "prompt": "a red summer dress", "num_inference_steps": 2,
                              "width": 64, "height": 64, **kw})


def _arr(img):
    return np.asarray(img, dtype=np.int16)


def test_text_to_image_honours_size_and_seed(gen):
    a = gen.generate(_imagine(width=96, height=64, seed=5))
    assert a.image.size == (96, 64) and a.backend.startswith("diffusers:")
    assert "AI-generated" in a.label and a.extras["pipeline"] == "StableDiffusionPipeline"
    b = gen.generate(_imagine(width=96, height=64, seed=5))
    c = gen.generate(_imagine(width=96, height=64, seed=6))
    assert (_arr(a.image) == _arr(b.image)).all()
    assert (_arr(a.image) != _arr(c.image)).any()


def test_prompt_embeds_condition_the_pipeline(gen, tiny):
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((1, 12, tiny.cross_attention_dim)).astype(np.float32)
    a = gen.generate(_imagine(prompt="", prompt_embeds=emb, seed=1))
    b = gen.generate(_imagine(prompt="", prompt_embeds=emb * 0 + 3, seed=1))
    assert a.image.size == (64, 64) and (_arr(a.image) != _arr(b.image)).any()
    again = gen.generate(_imagine(prompt="", prompt_embeds=torch.from_numpy(emb), seed=1))
    assert (_arr(a.image) == _arr(again.image)).all()
    with pytest.raises(RequestError, match="cross-attention dim is 32"):
        gen.generate(_imagine(prompt_embeds=np.zeros((1, 12, 16), np.float32)))


def test_image_to_image_from_the_shoppers_picture(gen, tmp_path):
    Image.new("RGB", (50, 70), (200, 30, 30)).save(tmp_path / "start.png")
    out = gen.generate(_imagine(photo=str(tmp_path / "start.png"), strength=0.5, width=64, height=80))
    assert out.extras["pipeline"] == "StableDiffusionImg2ImgPipeline" and out.image.size == (64, 80)


def test_try_on_inpaints_around_the_pasted_product(gen, sample_catalog_path, tmp_path):
    product = next(p for p in read_catalog(sample_catalog_path).products if p.image)
    photo = Image.new("RGB", (120, 160), (90, 120, 150))
    ImageDraw.Draw(photo).rectangle((40, 30, 80, 100), fill=(60, 60, 60))
    photo.save(tmp_path / "me.png")
    ref = ProductRef(product.id, product.title, product.base_colour, product.article_type, product.gender, product.image)
    req = build_request("try it on", ref, str(tmp_path / "me.png"), width=64, height=96, num_inference_steps=2)
    out = gen.generate(req)
    assert out.image.size == (64, 96) and out.extras["pipeline"] == "StableDiffusionInpaintPipeline"
    assert "AI-edited" in out.label and "not a photo" in out.label
    Image.new("L", (10, 10), 255).save(tmp_path / "m.png")
    with pytest.raises(RequestError, match="must match"):
        gen.generate(build_request("try it on", ref, str(tmp_path / "me.png"), mask=str(tmp_path / "m.png"),
                                   width=64, height=64, num_inference_steps=2))


def test_load_from_a_saved_folder_and_bad_folders(tiny, tmp_path):
    tiny.pipeline.save_pretrained(tmp_path / "sd")
    loaded = load_diffusion_pipeline(tmp_path / "sd", device="cpu")
    assert loaded.cross_attention_dim == 32 and loaded.path == str(tmp_path / "sd")
    out = DiffusersGenerator(loaded, progress=False).generate(_imagine(seed=2))
    ref = DiffusersGenerator(tiny, progress=False).generate(_imagine(seed=2))
    assert (_arr(out.image) == _arr(ref.image)).all()  # same weights, same seed, same picture
    with pytest.raises(DiffusionLoadError, match="does not exist"):
        load_diffusion_pipeline(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiffusionLoadError, match="no model_index.json"):
        load_diffusion_pipeline(tmp_path / "empty")
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(DiffusionLoadError, match="single-file"):
        load_diffusion_pipeline(tmp_path / "model.safetensors")
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "model_index.json").write_text(json.dumps({"_class_name": "LlavaForConditionalGeneration"}))
    with pytest.raises(DiffusionLoadError, match="holds a LlavaForConditionalGeneration"):
        load_diffusion_pipeline(tmp_path / "llm")
    (tmp_path / "sd" / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(DiffusionLoadError, match="does not load"):
        load_diffusion_pipeline(tmp_path / "sd")
