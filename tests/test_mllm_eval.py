"""The describe-eval scorer: colour/type matching with synonyms, wrong-colour detection,
held-out selection; and batched generation agreeing with single generation."""

from __future__ import annotations

import torch
from PIL import Image

from finetune.eval_describe import (colour_terms, held_out_products, names_any, names_wrong_colour, score_answers,
                                    type_terms)
from retrieval.catalog import Product, split_of

COLOURS = ["Black", "Blue", "Navy Blue", "Grey", "Grey Melange", "Off White", "White", "Red"]


def test_colour_matching_with_synonyms():
    assert names_any("A navy shirt", colour_terms("Navy Blue"))
    assert names_any("a GRAY tee", colour_terms("Grey"))
    assert names_any("This is a black wallet.", colour_terms("Black"))
    assert not names_any("blackberry phone", colour_terms("Black"))  # whole words only
    assert not names_any("a blue shirt", colour_terms("Navy Blue"))


def test_type_matching_singular_plural_and_synonyms():
    assert names_any("a black t-shirt", type_terms("Tshirts"))
    assert names_any("two tshirts", type_terms("Tshirts"))
    assert names_any("a leather watch", type_terms("Watches"))
    assert names_any("casual shoe for men", type_terms("Casual Shoes"))
    assert not names_any("sports shoes", type_terms("Casual Shoes"))
    assert names_any("a bottle of perfume", type_terms("Perfume and Body Mist"))


def test_wrong_colour_detection():
    assert names_wrong_colour("a red and black shirt", "Black", COLOURS)
    assert not names_wrong_colour("a navy blue shirt", "Navy Blue", COLOURS)  # 'blue' inside the true name
    assert not names_wrong_colour("a grey melange tee", "Grey Melange", COLOURS)
    assert not names_wrong_colour("a black wallet", "Black", COLOURS)


def test_score_answers():
    prods = [Product(id="1", title="t", base_colour="Black", article_type="Wallets"),
             Product(id="2", title="t", base_colour="Red", article_type="Shirts")]
    s = score_answers("m", prods, ["This is a black wallet.", "A blue shirt"], COLOURS)
    assert (s.colour_acc, s.type_acc, s.both_acc, s.wrong_colour_rate) == (0.5, 1.0, 0.5, 0.5)
    assert s.n == 2 and s.examples[0]["colour_ok"] and not s.examples[1]["colour_ok"]


def test_held_out_products_are_test_split_only():
    prods = [Product(id=str(i), title="t", base_colour="Black", article_type="Shirts", image="/x") for i in range(300)]
    held = held_out_products(prods, None)
    assert held and all(split_of(p.id) == "test" for p in held)
    assert len(held_out_products(prods, 5)) == 5
    assert held_out_products(prods, 5) == held_out_products(prods, 5)


def test_generate_batch_matches_single_generation():
    from adapters.loading.mllm import LoadedMLLM
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage, MLLMRunner
    from mllm_tiny import tiny_llava

    model, processor = tiny_llava()
    runner = MLLMRunner(LoadedMLLM(model, processor, processor.tokenizer, torch.device("cpu"), "embedded", "none",
                                   MLLMConfig(adapter_path=None, max_new_tokens=4)))
    convs = [[ChatMessage("user", "describe", image=Image.new("RGB", (9, 9), (250, 0, 0)))],
             [ChatMessage("user", "what colour is this product ? describe it", image=Image.new("L", (5, 30)))]]
    batch = runner.generate_batch(convs, max_new_tokens=4)
    assert batch == [runner.generate(c, max_new_tokens=4) for c in convs]


def test_cli_registers_describe_and_eval_describe():
    import argparse

    from assistant.cli import mllm_cmds

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    mllm_cmds.register(sub)
    mllm_cmds.register_eval(sub.add_parser("eval").add_subparsers(dest="suite"))
    args = parser.parse_args(["eval", "describe", "--limit", "5", "--adapters", "a=/x"])
    assert args.func is mllm_cmds.cmd_eval_describe and args.limit == 5 and args.adapters == ["a=/x"]
    args = parser.parse_args(["describe", "img.jpg", "--question", "what colour?"])
    assert args.func is mllm_cmds.cmd_describe and args.question == "what colour?"
    args = parser.parse_args(["train-lora", "--quick", "--device", "cpu", "--init", "/s1"])
    assert args.quick and args.init == "/s1" and args.func is mllm_cmds.cmd_train_lora


def test_describe_cli_bad_image_fails_before_loading(tmp_path, capsys):
    from assistant.cli import main

    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"not an image")
    assert main(["describe", str(bad)]) == 2
    assert "not an image" in capsys.readouterr().err
