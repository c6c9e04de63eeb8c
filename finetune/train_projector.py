"""Stage 1, feature alignment: train only the projector (tower and LLM frozen) on
catalog image -> caption pairs. ``python -m finetune.train_projector [--quick]``.

Writes ``projector.safetensors``, ``mllm_adapter.json`` (stage "projector"), the training
record and the loss curve to the run folder (``runs/<name>/``, or --out; checkpoints stay in
the run folder, the feature cache in ``runs/cache``); ``--install`` copies them into
``adapters/weights/mllm``. The shipped recipe is step-based (configs/projector_default.json).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from functools import partial
from pathlib import Path

import torch

from adapters.mllm.adapter_io import AdapterManifest, save_projector, write_manifest
from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR
from finetune.data_mllm import caption_examples, collate
from finetune.mllm_steps import get_projector, make_loss_fn
from finetune.cli_args import add_stage_args
from finetune.runs import install_and_report
from finetune.stage_common import (config_from_args, count_params, encode_sets, prepare_data, prepare_run_dir,
                                   setup_threads, stage_summary, train_stage)
from finetune.trainer import TrainConfig, write_json

logger = logging.getLogger(__name__)
STAGE1_FILES = ("projector.safetensors", "mllm_adapter.json", "training_projector.json", "loss_curve_projector.png")


def freeze_for_stage1(model) -> list[torch.nn.Parameter]:
    """Everything frozen except the projector; the BatchNorm tower stays in eval mode."""
    model.requires_grad_(False)
    proj = get_projector(model)
    proj.requires_grad_(True)
    return list(proj.parameters())


def run_stage1(model, processor, cfg: TrainConfig, out_dir: Path, run_dir: Path, device: torch.device,
               catalog=None) -> dict:
    """The recipe on an already built model; returns the summary it writes to training_projector.json."""
    torch.manual_seed(cfg.seed)
    model.to(device)
    params = freeze_for_stage1(model)
    data = prepare_data(model, processor, catalog, cfg, run_dir.parent / "cache", device)
    rng = random.Random(cfg.seed)
    train_ex = caption_examples(data.products, data.train_rows, rng)
    val_ex = caption_examples(data.products, data.val_rows, random.Random(cfg.seed + 1))
    enc_train, val = encode_sets(processor, train_ex, val_ex, cfg)
    resuming = (run_dir / "checkpoint.pt").is_file()  # the checkpoint already holds the warm-started projector
    warm = warm_start(model, processor, data, cfg, device) if cfg.warm_start_steps and not resuming else {}
    loss_fn = make_loss_fn(model, data.features, processor.image_token_id, device)
    trainable, total = count_params(model)
    logger.info("stage 1: %d trainable of %d parameters (%.3f%%)", trainable, total, 100 * trainable / total)

    def train_mode():
        model.eval()  # frozen LLM without dropout; BatchNorm tower must not update statistics
        get_projector(model).train()

    result = train_stage(loss_fn, params, enc_train, val, partial(collate, pad_id=processor.tokenizer.pad_token_id),
                         cfg, run_dir, train_mode, "stage 1")
    model.eval()
    save_projector(model, out_dir)
    write_manifest(out_dir, AdapterManifest.for_tower("projector", model.model.vision_tower.config))
    summary = {**stage_summary("projector", cfg, device, result, enc_train, val, trainable, total), "warm_start": warm}
    write_json(out_dir / "training_projector.json", summary)
    (out_dir / "loss_curve_projector.png").write_bytes((run_dir / "loss_curve.png").read_bytes())
    return summary


def warm_start(model, processor, data, cfg: TrainConfig, device) -> dict:
    """Fit the projector in embedding space first; returns diagnostics (val nearest-word accuracy)."""
    import time

    from finetune.data_mllm import colour_word, type_word
    from finetune.warm_start import fit_warm_start, nearest_accuracy, word_targets

    start = time.monotonic()
    tok, emb, proj = processor.tokenizer, model.get_input_embeddings(), get_projector(model)
    targets = word_targets(tok, emb, [f"{colour_word(p)} {type_word(p)}" for p in data.products]).to(device)
    feats = data.features.to(device)
    tr, va = data.train_rows, data.val_rows
    colours = sorted({colour_word(data.products[i]) for i in tr})
    types = sorted({type_word(data.products[i]) for i in tr})
    col_vocab = dict(zip(colours, word_targets(tok, emb, colours).to(device)))
    type_vocab = dict(zip(types, word_targets(tok, emb, types).to(device)))

    def diag() -> dict:
        return {"val_colour_nearest_acc": round(nearest_accuracy(proj, feats[va], [colour_word(data.products[i]) for i in va], col_vocab), 4),
                "val_type_nearest_acc": round(nearest_accuracy(proj, feats[va], [type_word(data.products[i]) for i in va], type_vocab), 4)}

    before = diag()
    hist = fit_warm_start(proj, feats[tr], targets[tr], cfg.warm_start_steps, cfg.warm_start_lr, seed=cfg.seed)
    after = diag()
    logger.info("warm start: %s -> %s", before, after)
    return {"steps": cfg.warm_start_steps, "seconds": round(time.monotonic() - start, 1), "before": before,
            "after": after, "final_loss": round(sum(hist[-20:]) / len(hist[-20:]), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stage_args(parser, "projector_default.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_from_args(args)


def run_from_args(args) -> int:
    from adapters.loading.device import resolve_device
    from adapters.loading.mllm import build_embedded, tower_config_for
    from finetune.cli_args import tower_dir_from_args

    cfg = config_from_args(args, "projector_quick.json")
    setup_threads(cfg)
    run_dir, out_dir = prepare_run_dir(args, "train-projector")
    tower_dir = tower_dir_from_args(args)
    model, processor = build_embedded(tower_config_for(tower_dir), seed=cfg.seed, tower_dir=tower_dir)
    summary = run_stage1(model, processor, cfg, out_dir, run_dir, resolve_device(args.device), args.catalog)
    print(f"stage 1 done: {summary['steps']} steps in {summary['seconds']} s ({summary['stopped_by']}), "
          f"train loss {summary['final_train_loss']}, val loss {summary['val_loss'][-1][1]:.4f} -> {out_dir}")
    if args.install:
        install_and_report(out_dir, DEFAULT_MLLM_ADAPTER_DIR, STAGE1_FILES,
                           "the shipped MLLM is stage 1 only until `shopassist train-lora --install`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
