"""Stage 2's second task: the request reader's LoRA (``shopassist train-lora --task request``).

The same recipe as the instruction LoRA (:mod:`finetune.train_lora`: LoRA r=8 on the language
model's q/k/v/o, :func:`finetune.stage_common.train_stage`), on text-only examples from
:mod:`finetune.data_request`: the request in force and a shopper's message -> the JSON update
the reader's grammar admits. Its own adaptor folder, so the shipped explanation LoRA
(``adapters/weights/mllm``) stays as it is: the trained projector of ``--init`` (default: the
shipped one) is copied in unchanged (no image in this task), which keeps the folder a complete
adaptor that every loader and the llama.cpp export take. ``--install`` copies the run into
``adapters/weights/reader``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from functools import partial
from pathlib import Path

import torch

from adapters.loading.mllm import projector_weights
from adapters.mllm.adapter_io import AdapterManifest, read_manifest, write_manifest
from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR
from adapters.mllm.prompts import READER_SYSTEM_PROMPT
from finetune.cli_args import CONFIG_DIR, add_stage_args
from finetune.data_mllm import collate
from finetune.data_request import request_examples
from finetune.runs import install_and_report
from finetune.mllm_steps import encode_all, make_loss_fn, val_batches
from finetune.stage_common import config_from_args, count_params, prepare_run_dir, setup_threads, stage_summary, \
    train_stage
from finetune.train_lora import apply_lora, save_lora
from finetune.trainer import TrainConfig, write_json
from retrieval.catalog import SAMPLE_CATALOG, read_catalog
from retrieval.vocabulary import Vocabulary

logger = logging.getLogger(__name__)

READER_DIR = str(Path(DEFAULT_MLLM_ADAPTER_DIR).parent / "reader")
READER_FILES = ("lora", "mllm_adapter.json", "training_reader.json", "loss_curve_reader.png")


def run_request_task(model, processor, cfg: TrainConfig, init_dir: Path, out_dir: Path, run_dir: Path,
                     device: torch.device, catalog=None) -> dict:
    """Train the request task's LoRA on ``model`` (the embedded LLaVA) and write its adaptor folder."""
    torch.manual_seed(cfg.seed)
    manifest = read_manifest(init_dir)
    if manifest is None:
        raise FileNotFoundError(f"{init_dir} holds no adaptor (mllm_adapter.json) to take the projector from")
    model.model.multi_modal_projector.load_state_dict(projector_weights(init_dir, manifest.stage))
    model.to(device)
    vocab = Vocabulary.from_products(read_catalog(catalog or SAMPLE_CATALOG).products)
    train_ex = request_examples(vocab, cfg.request_examples, random.Random(cfg.seed))
    seen = {ex.question for ex in train_ex}
    val_ex = [ex for ex in request_examples(vocab, 4 * cfg.val_examples, random.Random(cfg.seed + 1))
              if ex.question not in seen][: cfg.val_examples]
    peft_model = apply_lora(model, cfg)
    trainable, total = count_params(peft_model)
    logger.info("request task: %d trainable of %d parameters, %d examples", trainable, total, len(train_ex))
    tok = processor.tokenizer
    enc_train, enc_val = (encode_all(tok, ex, READER_SYSTEM_PROMPT, processor.num_image_tokens, tok.eos_token,
                                     cfg.max_len) for ex in (train_ex, val_ex))
    val = val_batches(enc_val, cfg.batch_size, tok.pad_token_id)
    no_images = torch.zeros(0, processor.num_image_tokens, 1)  # the task has no picture
    loss_fn = make_loss_fn(peft_model, no_images, processor.image_token_id, device)
    params = [p for p in peft_model.parameters() if p.requires_grad]

    def train_mode():
        peft_model.train()
        peft_model.get_base_model().model.vision_tower.eval()

    result = train_stage(loss_fn, params, enc_train, val, partial(collate, pad_id=processor.tokenizer.pad_token_id),
                         cfg, run_dir, train_mode, "request task")
    peft_model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    save_lora(peft_model, out_dir)
    write_manifest(out_dir, AdapterManifest.for_tower("lora", manifest.tower_config()))
    summary = {**stage_summary("lora", cfg, device, result, enc_train, val, trainable, total), "task": "request",
               "projector_from": str(init_dir)}
    write_json(out_dir / "training_reader.json", summary)
    (out_dir / "loss_curve_reader.png").write_bytes((run_dir / "loss_curve.png").read_bytes())
    return summary


def run_request_from_args(args) -> int:
    from adapters.loading.device import resolve_device
    from adapters.loading.mllm import build_embedded
    from finetune.cli_args import tower_dir_from_args

    args.config = args.config or str(CONFIG_DIR / "reader_default.json")
    cfg = config_from_args(args, "reader_quick.json")
    setup_threads(cfg)
    run_dir, out_dir = prepare_run_dir(args, "train-reader")
    init_dir = Path(args.init or DEFAULT_MLLM_ADAPTER_DIR)
    manifest = read_manifest(init_dir)
    if manifest is None:
        raise FileNotFoundError(f"{init_dir} holds no adaptor (mllm_adapter.json) to take the projector from")
    model, processor = build_embedded(manifest.tower_config(), seed=cfg.seed, tower_dir=tower_dir_from_args(args))
    summary = run_request_task(model, processor, cfg, init_dir, out_dir, run_dir, resolve_device(args.device),
                               args.catalog)
    print(f"request task done: {summary['steps']} steps in {summary['seconds']} s ({summary['stopped_by']}), "
          f"train loss {summary['final_train_loss']}, val loss {summary['val_loss'][-1][1]:.4f} -> {out_dir}")
    if args.install:
        install_and_report(out_dir, READER_DIR, READER_FILES)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stage_args(parser, "reader_default.json", stage2=True)
    args = parser.parse_args(argv)
    args.task = "request"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_request_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
