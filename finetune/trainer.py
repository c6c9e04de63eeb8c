"""The shared training loop for both MLLM stages: lr schedule, progress bar, held-out
validation loss, resumable checkpoints, a loss-curve PNG and a wall-clock budget.

The model side is injected: ``loss_fn(batch) -> loss`` and the list of trainable
parameters. Only those parameters (and the optimizer state) go into checkpoints.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """One named run (finetune/configs/*.json). ``max_minutes`` bounds the wall time:
    the loop stops at the budget, validates and saves, so defaults finish on 2 cores."""

    lr: float = 1e-3
    batch_size: int = 16
    max_steps: int = 400
    warmup_steps: int = 20
    weight_decay: float = 0.0
    max_minutes: float = 15.0
    eval_every: int = 50
    save_every: int = 50
    val_examples: int = 128
    train_products: int | None = None  # None: the whole train split
    val_products: int = 256
    seed: int = 0
    max_len: int = 192
    num_threads: int = 0  # 0: torch's default
    # stage 1 only: embedding-space warm start of the projector (finetune/warm_start.py)
    warm_start_steps: int = 0
    warm_start_lr: float = 1e-3
    # stage 2 only
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    per_product: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.lr < 1:
            raise ValueError("TrainConfig: lr must be in (0, 1)")
        if self.batch_size < 1 or self.max_steps < 1 or self.warmup_steps < 0:
            raise ValueError("TrainConfig: batch_size and max_steps must be >= 1, warmup_steps >= 0")
        if self.max_minutes <= 0 or self.eval_every < 1 or self.save_every < 1:
            raise ValueError("TrainConfig: max_minutes, eval_every and save_every must be positive")
        if self.lora_r < 1 or self.lora_alpha < 1 or not 0 <= self.lora_dropout < 1:
            raise ValueError("TrainConfig: bad LoRA settings")

    @classmethod
    def from_json(cls, path: str | Path, **overrides) -> "TrainConfig":
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"description"}
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        data = {k: v for k, v in data.items() if k in known}
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)


def get_lr(step: int, total: int, warmup: int, base: float, floor: float = 0.1) -> float:
    """Linear warmup to ``base``, then cosine decay to ``floor * base`` at ``total``."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class TrainResult:
    steps: int
    train_loss: list[tuple[int, float]]
    val_loss: list[tuple[int, float]]
    seconds: float
    stopped_by: str  # "max_steps" | "time budget"


def batches(items: Sequence, batch_size: int, rng: random.Random):
    """Endless shuffled epochs of ``batch_size`` items."""
    order = list(range(len(items)))
    while True:
        rng.shuffle(order)
        for s in range(0, len(order) - batch_size + 1, batch_size):
            yield [items[i] for i in order[s:s + batch_size]]


def evaluate(loss_fn: Callable, val_batches: Sequence) -> float:
    with torch.no_grad():
        losses = [float(loss_fn(b)) for b in val_batches]
    return sum(losses) / max(1, len(losses))


def train_loop(loss_fn: Callable, params: list[torch.nn.Parameter], train_items: Sequence, val_batches: Sequence,
               collate_fn: Callable, cfg: TrainConfig, run_dir: Path, set_train_mode: Callable[[], None]) -> TrainResult:
    """AdamW over ``params``; resumes from ``run_dir/checkpoint.pt`` when it exists."""
    run_dir.mkdir(parents=True, exist_ok=True)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ckpt_path = run_dir / "checkpoint.pt"
    step, hist_train, hist_val, spent = 0, [], [], 0.0
    if ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, weights_only=False)
        for p, saved in zip(params, ckpt["params"], strict=True):
            p.data.copy_(saved)
        opt.load_state_dict(ckpt["optimizer"])
        step, hist_train, hist_val, spent = ckpt["step"], ckpt["train_loss"], ckpt["val_loss"], ckpt["seconds"]
        logger.info("resumed from %s at step %d", ckpt_path, step)
    rng = random.Random(cfg.seed + step)
    stream = batches(train_items, cfg.batch_size, rng)
    start = time.monotonic() - spent
    stopped_by = "max_steps"
    if step == 0:  # the starting point, so the curve shows what training changed
        hist_val.append((0, evaluate(loss_fn, val_batches)))
    bar = tqdm(total=cfg.max_steps, initial=step, desc="train", unit="step")
    set_train_mode()
    while step < cfg.max_steps:
        if (time.monotonic() - start) / 60 > cfg.max_minutes:
            stopped_by = "time budget"
            logger.info("time budget of %.1f min reached at step %d", cfg.max_minutes, step)
            break
        for g in opt.param_groups:
            g["lr"] = get_lr(step, cfg.max_steps, cfg.warmup_steps, cfg.lr)
        loss = loss_fn(collate_fn(next(stream)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        hist_train.append((step, loss.item()))
        bar.update(1)
        bar.set_postfix(loss=f"{hist_train[-1][1]:.3f}")
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            hist_val.append((step, evaluate(loss_fn, val_batches)))
            set_train_mode()
            bar.write(f"step {step}: val loss {hist_val[-1][1]:.4f}")
        if step % cfg.save_every == 0:
            _save_ckpt(ckpt_path, params, opt, step, hist_train, hist_val, time.monotonic() - start)
    bar.close()
    if not hist_val or hist_val[-1][0] != step:
        hist_val.append((step, evaluate(loss_fn, val_batches)))
    seconds = time.monotonic() - start
    _save_ckpt(ckpt_path, params, opt, step, hist_train, hist_val, seconds)
    plot_losses(hist_train, hist_val, run_dir / "loss_curve.png")
    return TrainResult(step, hist_train, hist_val, seconds, stopped_by)


def _save_ckpt(path: Path, params, opt, step, hist_train, hist_val, seconds) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"params": [p.detach().cpu() for p in params], "optimizer": opt.state_dict(), "step": step,
                "train_loss": hist_train, "val_loss": hist_val, "seconds": seconds}, tmp)
    tmp.replace(path)


def plot_losses(hist_train: list[tuple[int, float]], hist_val: list[tuple[int, float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    if hist_train:
        xs, ys = zip(*hist_train)
        k = max(1, len(ys) // 50)
        smooth = [sum(ys[max(0, i - k):i + 1]) / len(ys[max(0, i - k):i + 1]) for i in range(len(ys))]
        ax.plot(xs, ys, alpha=0.3, label="train")
        ax.plot(xs, smooth, label="train (smoothed)")
    if hist_val:
        xs, ys = zip(*hist_val)
        ax.plot(xs, ys, "o-", label="val")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)) + "\n")
