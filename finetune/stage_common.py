"""Setup shared by ``train_projector`` and ``train_lora``: CLI flags, catalog rows,
cached features and encoded examples. Each script's ``main`` stays a short recipe."""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from finetune.data_mllm import Example
from finetune.mllm_features import tower_features
from finetune.mllm_steps import encode_all, split_rows, val_batches
from finetune.plots import plot_panels, step_loss_panel
from finetune.runs import latest_run, run_folder
from finetune.trainer import FitResult, LoopConfig, Task, TrainConfig, batches, fit, get_lr, mean_loss, tail_mean

logger = logging.getLogger(__name__)

from finetune.cli_args import CONFIG_DIR
from adapters.mllm.prompts import TRAINING_SYSTEM_PROMPT as SYSTEM_PROMPT  # noqa: E402


def config_from_args(args, quick_name: str) -> TrainConfig:
    path = CONFIG_DIR / quick_name if args.quick else Path(args.config)
    if not path.is_file():
        raise FileNotFoundError(f"run config {path} does not exist")
    return TrainConfig.from_json(path, max_steps=args.max_steps, max_minutes=args.max_minutes)


@dataclass
class StageData:
    products: list
    features: torch.Tensor
    train_rows: list[int]
    val_rows: list[int]


def prepare_data(model, processor, catalog_path, cfg: TrainConfig, cache_dir: Path, device) -> StageData:
    from retrieval.catalog import SAMPLE_CATALOG, read_catalog, split_of

    catalog = read_catalog(catalog_path or SAMPLE_CATALOG)
    products = catalog.products
    # Feature only what this run uses (and only train/val ids): a --quick run stays quick.
    rng = random.Random(cfg.seed)
    train = [p for p in products if p.image and split_of(p.id) == "train"]
    val = [p for p in products if p.image and split_of(p.id) == "val"]
    rng.shuffle(train)
    rng.shuffle(val)
    if cfg.train_products:
        train = train[:cfg.train_products]
    used = train + val[:cfg.val_products]
    if not train or not val:
        raise ValueError(f"{catalog.path}: need products with images in both the train and val splits")
    feats, ok = tower_features(model, processor, used, cache_dir, device=device)
    train_rows, val_rows = split_rows(used, ok, None, cfg.val_products, cfg.seed)
    return StageData(used, feats, train_rows, val_rows)


def encode_sets(processor, train_ex: list[Example], val_ex: list[Example], cfg: TrainConfig):
    tok = processor.tokenizer
    end = tok.eos_token
    enc_train = encode_all(tok, train_ex, SYSTEM_PROMPT, processor.num_image_tokens, end, cfg.max_len)
    enc_val = encode_all(tok, val_ex[:cfg.val_examples], SYSTEM_PROMPT, processor.num_image_tokens, end, cfg.max_len)
    return enc_train, val_batches(enc_val, cfg.batch_size, tok.pad_token_id)


def count_params(model) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def prepare_run_dir(args, command: str) -> tuple[Path, Path]:
    """(run folder: checkpoint and loss curve, adaptor folder). The run folder is ``--run-dir``, or
    ``runs/<--name>``, or ``runs/<command>[-quick]-<timestamp>``; the adaptor goes to ``--out`` or
    the run folder (never ``adapters/weights``: that takes ``--install``). ``--fresh`` drops the checkpoint."""
    run_dir = Path(args.run_dir) if args.run_dir else run_folder(command + ("-quick" if args.quick else ""), args.name)
    if args.fresh and (run_dir / "checkpoint.pt").exists():
        (run_dir / "checkpoint.pt").unlink()
    return run_dir, Path(args.out) if args.out else run_dir


def stage1_folder(args) -> Path:
    """``--init``, else the newest stage-1 run under ``runs/``."""
    init = Path(args.init) if args.init else latest_run("projector")
    if init is None:
        raise FileNotFoundError("no stage-1 run under runs/: run `shopassist train-projector` first, or give --init FOLDER")
    return init


def train_stage(loss_fn, params, enc_train, val, collate_fn, cfg: TrainConfig, run_dir: Path, train_mode,
                desc: str) -> FitResult:
    """One MLLM stage on :func:`finetune.trainer.fit`: AdamW, warmup + cosine lr, grad clip 1.0, val
    loss at step 0 and every ``eval_every``, checkpoints (resumable) and ``loss_curve.png`` in ``run_dir``.
    The val loss is taken in whatever mode training left the model (stage 2: LoRA dropout on), as the
    shipped runs measured it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    task = Task(loss=loss_fn, optimizer=opt, params=params, train_mode=train_mode,
                batches=lambda _epoch, step: map(collate_fn, batches(enc_train, cfg.batch_size, random.Random(cfg.seed + step))),
                validate=lambda: {"val_loss": mean_loss(loss_fn, val)},
                lr_at=lambda step: get_lr(step, cfg.schedule_steps or cfg.max_steps, cfg.warmup_steps, cfg.lr))
    result = fit(task, LoopConfig(max_steps=cfg.max_steps, eval_every=cfg.eval_every, eval_at_start=True,
                                  max_minutes=cfg.max_minutes, clip_grad=1.0, checkpoint=run_dir / "checkpoint.pt",
                                  save_every=cfg.save_every, desc=desc))
    plot_panels([step_loss_panel(result.curve, result.series("val_loss"), f"{desc} loss")], run_dir / "loss_curve.png")
    return result


def stage_summary(stage: str, cfg: TrainConfig, device, result: FitResult, enc_train, val, trainable: int,
                  total: int) -> dict:
    """What ``training_<stage>.json`` records."""
    xs, ys = result.series("val_loss")
    return {"stage": stage, "config": asdict(cfg), "device": str(device), "steps": result.steps,
            "stopped_by": result.stopped_by, "seconds": round(result.seconds, 1),
            "train_examples": len(enc_train), "val_examples": sum(len(b["input_ids"]) for b in val),
            "trainable_params": trainable, "total_params": total,
            "final_train_loss": tail_mean(result.curve), "val_loss": [list(p) for p in zip(xs, ys)]}


def setup_threads(cfg: TrainConfig) -> None:
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
