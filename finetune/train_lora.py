"""Stage 2, instruction tuning: LoRA on the language model's attention projections plus
the projector (peft ``modules_to_save``), on shopping conversations generated from the
catalog. ``python -m finetune.train_lora [--quick] [--init STAGE1_FOLDER]``.

Writes ``lora/`` (peft ``save_pretrained``: the LoRA weights and the trained projector),
the manifest (stage "lora"), the training record and the loss curve to the run folder
(``runs/<name>/``, or --out). --init names the stage-1 folder to start from (default: the
newest stage-1 run under ``runs/``). ``--install`` copies them, with the stage-1 record, into
``adapters/weights/mllm``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from functools import partial
from pathlib import Path

import torch

from adapters.mllm.adapter_io import LORA_DIR, AdapterManifest, load_projector, read_manifest, write_manifest
from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR
from finetune.data_mllm import collate, instruction_examples
from finetune.mllm_steps import make_loss_fn
from finetune.cli_args import CONFIG_DIR, add_stage_args
from finetune.runs import install_and_report
from finetune.stage_common import (config_from_args, count_params, encode_sets, prepare_data, prepare_run_dir,
                                   setup_threads, stage1_folder, stage_summary, train_stage)
from finetune.trainer import TrainConfig, write_json

logger = logging.getLogger(__name__)
STAGE2_FILES = ("lora", "mllm_adapter.json", "training_lora.json", "loss_curve_lora.png")
STAGE1_RECORD = ("training_projector.json", "loss_curve_projector.png")  # installed beside stage 2 when present

# The language model's attention projections only, whatever HF calls the path
# ("model.language_model.layers.N.self_attn.q_proj" in transformers 5, "language_model.model..."
# before): the vision tower is never wrapped.
LM_ATTENTION_REGEX = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)"


def lm_attention_regex(first_layer: int = 0) -> str:
    """:data:`LM_ATTENTION_REGEX`, or only the layers from ``first_layer`` up (a text-only task whose
    backward pass then stops there: cheaper steps, and fewer tensors changed in the GGUF export)."""
    if first_layer <= 0:
        return LM_ATTENTION_REGEX
    layers = "|".join(str(i) for i in range(first_layer, 100))
    return rf".*language_model.*\.layers\.({layers})\.self_attn\.(q_proj|k_proj|v_proj|o_proj)"


def apply_lora(model, cfg: TrainConfig):
    """peft model with LoRA on LM attention and a trainable copy of the projector."""
    from peft import LoraConfig, get_peft_model

    model.requires_grad_(False)
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=lm_attention_regex(cfg.lora_layers_from),
                      modules_to_save=["multi_modal_projector"],
                      task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def save_lora(peft_model, out_dir: Path) -> Path:
    path = out_dir / LORA_DIR
    # The added <image> row of the embeddings is always overwritten by image features: no need to save it.
    peft_model.save_pretrained(str(path), save_embedding_layers=False)
    return path


def run_stage2(model, processor, cfg: TrainConfig, init_dir: Path, out_dir: Path, run_dir: Path,
               device: torch.device, catalog=None) -> dict:
    torch.manual_seed(cfg.seed)
    manifest = read_manifest(init_dir)
    if manifest is None:
        raise FileNotFoundError(f"{init_dir} holds no stage-1 adaptor (mllm_adapter.json); run train-projector first")
    load_projector(model, init_dir)
    model.to(device)
    data = prepare_data(model, processor, catalog, cfg, run_dir.parent / "cache", device)
    peft_model = apply_lora(model, cfg)
    trainable, total = count_params(peft_model)
    logger.info("stage 2: %d trainable of %d parameters (%.3f%%)", trainable, total, 100 * trainable / total)
    train_ex = instruction_examples(data.products, data.train_rows, random.Random(cfg.seed), cfg.per_product)
    val_ex = instruction_examples(data.products, data.val_rows, random.Random(cfg.seed + 1), cfg.per_product)
    enc_train, val = encode_sets(processor, train_ex, val_ex, cfg)
    loss_fn = make_loss_fn(peft_model, data.features, processor.image_token_id, device)
    params = [p for p in peft_model.parameters() if p.requires_grad]

    def train_mode():
        peft_model.train()  # LoRA dropout on
        peft_model.get_base_model().model.vision_tower.eval()  # BatchNorm statistics stay fixed

    result = train_stage(loss_fn, params, enc_train, val, partial(collate, pad_id=processor.tokenizer.pad_token_id),
                         cfg, run_dir, train_mode, "stage 2")
    peft_model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    save_lora(peft_model, out_dir)  # carries the trained projector too (modules_to_save)
    write_manifest(out_dir, AdapterManifest.for_tower("lora", manifest.tower_config()))
    summary = stage_summary("lora", cfg, device, result, enc_train, val, trainable, total)
    write_json(out_dir / "training_lora.json", summary)
    (out_dir / "loss_curve_lora.png").write_bytes((run_dir / "loss_curve.png").read_bytes())
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stage_args(parser, "lora_default.json", stage2=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_from_args(args)


def run_from_args(args) -> int:
    if args.task != "instructions":  # the request task's recipe is finetune.train_reader's
        raise ValueError(f"task {args.task!r} runs from finetune.train_reader "
                         f"(`shopassist train-lora --task {args.task}`)")
    from adapters.loading.device import resolve_device
    from adapters.loading.mllm import build_embedded
    from finetune.cli_args import tower_dir_from_args

    args.config = args.config or str(CONFIG_DIR / "lora_default.json")
    cfg = config_from_args(args, "lora_quick.json")
    setup_threads(cfg)
    run_dir, out_dir = prepare_run_dir(args, "train-lora")
    init_dir = stage1_folder(args)
    manifest = read_manifest(init_dir)
    if manifest is None:
        raise FileNotFoundError(f"{init_dir} holds no stage-1 adaptor; run train-projector first")
    model, processor = build_embedded(manifest.tower_config(), seed=cfg.seed, tower_dir=tower_dir_from_args(args))
    summary = run_stage2(model, processor, cfg, init_dir, out_dir, run_dir, resolve_device(args.device), args.catalog)
    print(f"stage 2 done: {summary['steps']} steps in {summary['seconds']} s ({summary['stopped_by']}), "
          f"train loss {summary['final_train_loss']}, val loss {summary['val_loss'][-1][1]:.4f} -> {out_dir} "
          f"(stage 1 from {init_dir})")
    if args.install:
        install_and_report(out_dir, DEFAULT_MLLM_ADAPTER_DIR, STAGE2_FILES)
        record = [n for n in STAGE1_RECORD if (init_dir / n).is_file()]
        install_and_report(init_dir, DEFAULT_MLLM_ADAPTER_DIR, record, "the stage-1 record of that run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
