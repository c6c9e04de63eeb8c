"""Imagine-then-search and the `shopassist generate` / `train-output-projector` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adapters.generation.composite import CompositeGenerator
from adapters.generation.diffusers_backend import DiffusersGenerator
from adapters.generation.remote import RemoteConfig, RemoteGenerator
from adapters.loading.diffusion import build_tiny_pipeline
from adapters.output import ImageGenRequest, RequestError, build_request
from assistant.cli import main
from assistant.imagine import imagine_then_search
from retrieval.catalog import read_catalog


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def catalog(sample_catalog_path):
    return [p for p in read_catalog(sample_catalog_path).products if p.image][:300]


class CatalogSearch:
    """A small real search over catalog records: title word overlap for text, mean colour for images."""

    def __init__(self, products):
        self.products = products
        self.calls = []

    def __call__(self, text, image):
        self.calls.append((text, image))
        if image is not None:
            target = np.asarray(image.convert("RGB"), np.float32).reshape(-1, 3).mean(0)
            colour = lambda p: np.asarray(Image.open(p.image).convert("RGB"), np.float32).reshape(-1, 3).mean(0)
            return sorted(self.products, key=lambda p: float(np.linalg.norm(colour(p) - target)))[:5]
        words = set(text.lower().split())
        scored = [(len(words & set(p.title.lower().split())), p) for p in self.products]
        return [p for s, p in sorted(scored, key=lambda sp: -sp[0]) if s][:5]


def test_offline_imagine_searches_the_description_as_text(catalog):
    search = CatalogSearch(catalog)
    req = build_request("show me what a black leather wallet looks like")
    result = imagine_then_search(req, CompositeGenerator(), search)
    assert result.query == "text" and result.query_text == "a black leather wallet" and result.image is None
    assert search.calls == [("a black leather wallet", None)]
    assert result.products and all("wallet" in p.title.lower() or "black" in p.title.lower() for p in result.products)
    assert "cannot imagine" in result.message


def test_generated_image_becomes_the_query(catalog):
    search = CatalogSearch(catalog)
    req = build_request("imagine a red dress", width=64, height=64, num_inference_steps=2)
    result = imagine_then_search(req, DiffusersGenerator(build_tiny_pipeline(), progress=False), search)
    # the picture and the words together: the words' filters hold, the picture orders the rest
    assert result.query == "image+text" and result.image is not None and len(result.products) == 5
    assert search.calls[0][0] == "a red dress" and search.calls[0][1] is result.image
    assert "AI-generated" in result.message and "found from the imagined picture" in result.message
    # words nothing in the shop has: the picture alone still finds the nearest, and the reply says why
    calls = []

    def strict(text, image):  # a store where the words' filters leave nothing
        calls.append(text)
        return [] if text else catalog[:5]

    result = imagine_then_search(build_request("imagine a zebra-striped dirndl", width=64, height=64,
                                               num_inference_steps=2),
                                 DiffusersGenerator(build_tiny_pipeline(), progress=False), strict)
    assert result.query == "image" and len(result.products) == 5 and calls == ["a zebra-striped dirndl", None]
    assert "Nothing in the shop matches all of 'a zebra-striped dirndl'" in result.message


def test_a_failing_generator_falls_back_to_text(catalog):
    search = CatalogSearch(catalog)
    req = build_request("imagine a blue denim jacket")
    result = imagine_then_search(req, RemoteGenerator(RemoteConfig("http://127.0.0.1:9/gen", timeout_s=2)), search)
    assert result.query == "text" and result.generated is None and "could not be made" in result.message
    with pytest.raises(RequestError, match="needs an 'imagine' request"):
        imagine_then_search(ImageGenRequest(mode="try_on", product_image="/p", photo="/q"), CompositeGenerator(), search)


def test_cli_generate_try_on_and_bad_inputs(tmp_path, capsys):
    photo = Image.new("RGB", (200, 280), (100, 130, 160))
    ImageDraw.Draw(photo).rectangle((60, 60, 140, 180), fill=(60, 60, 60))
    photo.save(tmp_path / "me.png")
    out = tmp_path / "try_on.png"
    rc = main(["generate", "--prompt", "can I see it on me", "--product-id", "15970", "--photo",
               str(tmp_path / "me.png"), "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "backend: composite" in text and "not a generated photo" in text
    assert Image.open(out).size == (200, 280) and Image.open(out).info["backend"] == "composite"
    assert main(["generate", "--mode", "try_on", "--product-id", "15970"]) == 2
    assert "needs a photo of yourself" in capsys.readouterr().err
    assert main(["generate", "--mode", "imagine", "--prompt", "a lamp", "--checkpoint", str(tmp_path)]) == 2
    assert "no model_index.json" in capsys.readouterr().err
    assert main(["generate", "--mode", "imagine", "--prompt", "a lamp", "--steps", "500", "--tiny-pipeline"]) == 2
    assert "1..150" in capsys.readouterr().err
    # the embedded catalog model draws the shop's kinds of products only: a lamp is refused, no file written
    assert main(["generate", "--mode", "imagine", "--prompt", "a lamp", "--out", str(tmp_path / "x.png")]) == 1
    out = capsys.readouterr().out
    assert ("only draws the kinds of products" in out or "cannot imagine" in out) and not (tmp_path / "x.png").exists()


def test_cli_train_output_projector(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["train-output-projector", "--config", str(_quick_config()), "--llm", "tiny", "--limit", "120",
               "--epochs", "2", "--out", str(tmp_path / "proj")])
    text = capsys.readouterr().out
    assert rc == 0 and "held-out" in text and "centred cosine" in text
    assert (tmp_path / "proj" / "output_projector.safetensors").is_file()
    # the learned path end to end: LLM states -> projector -> prompt_embeds -> diffusers
    rc = main(["generate", "--prompt", "imagine a red dress", "--projector", str(tmp_path / "proj"), "--tiny-pipeline",
               "--width", "64", "--height", "64", "--steps", "2", "--quiet", "--out", str(tmp_path / "p.png"), "--json"])
    lines = capsys.readouterr().out.splitlines()
    request = json.loads(lines[-1])["request"]
    assert rc == 0 and request["prompt_embeds"]["shape"] == [1, 77, 32] and Image.open(tmp_path / "p.png").size == (64, 64)


def _quick_config():
    from finetune.train_output_projector import CONFIG_DIR

    return CONFIG_DIR / "output_projector_quick.json"


def test_chat_turn_keeps_the_conversation_going(catalog, tmp_path):
    from assistant.imagine import product_ref, respond_to_image_request

    shirt = product_ref(next(p for p in catalog if p.article_type == "Tshirts"))
    assert shirt.colour and shirt.image_path
    gen = CompositeGenerator()
    assert respond_to_image_request("any cheaper ones?", shirt, None, gen) is None
    turn = respond_to_image_request("can I see it on me", shirt, None, gen)
    assert turn.image is None and "photo of yourself" in turn.message
    (tmp_path / "me.jpg").write_bytes(b"garbage")
    turn = respond_to_image_request("can I see it on me", shirt, str(tmp_path / "me.jpg"), gen)
    assert turn.image is None and "not an image file" in turn.message
    Image.new("RGB", (200, 300), (90, 90, 90)).save(tmp_path / "me.png")
    turn = respond_to_image_request("can I see it on me", shirt, str(tmp_path / "me.png"), gen)
    assert turn.image.size == (200, 300) and turn.backend == "composite" and "Composite preview" in turn.message
    turn = respond_to_image_request("imagine a black leather wallet", None, None, gen, search=CatalogSearch(catalog))
    assert turn.image is None and turn.products and "black leather wallet" in turn.message


def test_imagine_keeps_the_kind_when_nothing_has_all_the_words(catalog):
    calls = []

    def strict(text, image):  # nothing green: only the kind of product finds something
        calls.append(text)
        return catalog[:3] if text == "Dresses for Women" else []

    result = imagine_then_search(build_request("imagine a green summer dress for women", width=64, height=64,
                                               num_inference_steps=2),
                                 DiffusersGenerator(build_tiny_pipeline(), progress=False), strict,
                                 narrow=lambda words: "Dresses for Women")
    assert calls == ["a green summer dress for women", "Dresses for Women"] and len(result.products) == 3
    assert "Nothing in the shop has all of 'a green summer dress for women'; here are the Dresses for Women" \
        in result.message
