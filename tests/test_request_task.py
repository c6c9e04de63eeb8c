"""Stage 2's second task, the request reader's (``train-lora --task request``): examples generated from
the catalog's vocabulary in the reader's own prompt and grammar, and the run end to end on the tiny
LLaVA, writing an adaptor folder the loader takes (the projector kept as it was)."""

from __future__ import annotations

import random
from collections import Counter

import torch

from adapters.mllm.adapter_io import AdapterManifest, read_manifest, save_projector, write_manifest
from adapters.mllm.prompts import request_update_prompt
from adapters.mllm.request_update import parse_update
from finetune.cli_args import CONFIG_DIR
from finetune.data_request import request_examples, typo
from finetune.trainer import TrainConfig
from retrieval.vocabulary import Vocabulary

VOCAB = Vocabulary(colours=("Black", "Navy Blue", "Red", "White", "Grey"),
                   article_types=("Tshirts", "Casual Shoes", "Sports Shoes", "Handbags", "Backpacks", "Watches"),
                   genders=("Men", "Women", "Boys", "Girls", "Unisex"), usages=("Casual", "Formal", "Sports", "Party"))


def test_every_example_is_the_readers_prompt_and_an_answer_its_grammar_admits():
    examples = request_examples(VOCAB, 600, random.Random(0))
    assert len(examples) == 600 and len({e.question for e in examples}) == 600
    slots = Counter()
    for ex in examples:
        request, message = ex.question.split("\n")[0][9:], ex.question.split("\n")[1][9:]
        assert ex.question == request_update_prompt(request, message) and ex.image_rows == ()
        update = parse_update(ex.answer, VOCAB.to_dict())
        assert update is not None, ex
        slots.update(k for k, v in vars(update).items() if v not in ((), None, False))
    for slot in ("article_types", "colours", "genders", "usages", "max_price", "min_price", "exclude_colours",
                 "cheapest_first", "colour_move", "price_move", "goes_with"):
        assert slots[slot] >= 5, (slot, slots)
    assert any(e.answer == "{}" for e in examples)  # small talk changes nothing
    assert request_examples(VOCAB, 50, random.Random(0)) == examples[:50]  # seeded


def test_typos_are_one_slip():
    rng = random.Random(1)
    for _ in range(50):
        word = typo("sneakers", rng)
        assert word != "sneakers" and abs(len(word) - 8) <= 1 and word[0] == "s"
    assert typo("tee", rng) == "tee" and typo("flip flops", rng) == "flip flops"


def test_the_request_task_configs_load_and_the_command_takes_the_task():
    from assistant.cli import build_parser

    for name in ("reader_default", "reader_quick"):
        cfg = TrainConfig.from_json(CONFIG_DIR / f"{name}.json")
        assert cfg.request_examples > 0 and cfg.max_steps >= 1
    args = build_parser().parse_args(["train-lora", "--task", "request", "--quick"])
    assert args.task == "request" and args.config is None and not args.install
    assert build_parser().parse_args(["train-lora"]).task == "instructions"
    from adapters.mllm.config import DEFAULT_READER_ADAPTER_DIR
    from finetune.train_reader import READER_DIR

    assert READER_DIR == DEFAULT_READER_ADAPTER_DIR and READER_DIR.endswith("weights/reader")


def test_the_request_task_end_to_end_on_the_tiny_llava(tmp_path, one_torch_thread):
    from adapters.loading.mllm import _apply_adapters, projector_weights
    from finetune.train_reader import run_request_task
    from tests.mllm_tiny import tiny_llava, tiny_tower_config

    model, processor = tiny_llava(seed=1)
    init = tmp_path / "stage1"
    save_projector(model, init)
    write_manifest(init, AdapterManifest.for_tower("projector", tiny_tower_config()))
    before = projector_weights(init, "projector")
    cfg = TrainConfig(lr=1e-2, batch_size=4, max_steps=3, warmup_steps=1, eval_every=3, save_every=3, val_examples=4,
                      max_len=96, lora_r=2, lora_alpha=4, lora_dropout=0.0, request_examples=24)
    model, processor = tiny_llava(seed=2)  # the projector comes from the folder, not from this model
    out = tmp_path / "reader"
    summary = run_request_task(model, processor, cfg, init, out, tmp_path / "run", torch.device("cpu"))
    assert summary["steps"] == 3 and summary["task"] == "request" and read_manifest(out).stage == "lora"
    assert {p.name for p in out.iterdir()} >= {"lora", "mllm_adapter.json", "training_reader.json",
                                                "loss_curve_reader.png"}
    after = projector_weights(out, "lora")
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    fresh, _ = tiny_llava(seed=2)  # the same base model
    loaded, stage = _apply_adapters(fresh, out, read_manifest(out), merge=True)
    ids = processor.tokenizer("what colour is it ?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = model.eval()(input_ids=ids).logits
        assert stage == "lora" and torch.allclose(loaded.eval()(input_ids=ids).logits, expected, atol=1e-4)
