"""The one training loop of every ``finetune`` script (:func:`fit`): by epochs or by steps,
validation with best-by-metric selection, a wall-clock budget, resumable checkpoints,
loss and metric curves (plotted with :mod:`finetune.plots`) and a tqdm progress bar.

A script supplies a :class:`Task` (the model side: the loss of a batch, the batches, the
optimizer, how to validate) and a :class:`LoopConfig` (how long, how often, what to keep):

* **epochs** (``max_steps=None``): each epoch runs ``task.batches(epoch, step)`` to the end,
  then validates; the budget is checked between epochs (the epoch is the unit of selection).
* **steps** (``max_steps=N``): an endless stream of batches, validation every ``eval_every``
  steps and at the end; the budget is checked before every step; checkpoints every
  ``save_every`` steps, from which a later call with the same ``checkpoint`` resumes.

With ``best_by`` the modules are restored to the validation row that scored highest; without
it the final state is kept. The MLLM stages' own settings (:class:`TrainConfig`) live here too.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """One named MLLM run (finetune/configs/*.json). ``max_minutes`` bounds the wall time:
    the loop stops at the budget, validates and saves. ``schedule_steps`` lays the lr schedule
    out over more steps than the run takes (default: ``max_steps``)."""

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
    schedule_steps: int | None = None  # None: max_steps
    # stage 1 only: embedding-space warm start of the projector (finetune/warm_start.py)
    warm_start_steps: int = 0
    warm_start_lr: float = 1e-3
    # stage 2 only
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_layers_from: int = 0  # LoRA on the language model's layers from this index up (0: all)
    per_product: int = 2
    request_examples: int = 6000  # stage 2's request task (train-lora --task request): examples generated

    def __post_init__(self) -> None:
        if not 0 < self.lr < 1:
            raise ValueError("TrainConfig: lr must be in (0, 1)")
        if self.batch_size < 1 or self.max_steps < 1 or self.warmup_steps < 0:
            raise ValueError("TrainConfig: batch_size and max_steps must be >= 1, warmup_steps >= 0")
        if self.max_minutes <= 0 or self.eval_every < 1 or self.save_every < 1:
            raise ValueError("TrainConfig: max_minutes, eval_every and save_every must be positive")
        if self.schedule_steps is not None and self.schedule_steps < self.max_steps:
            raise ValueError("TrainConfig: schedule_steps must be >= max_steps")
        if self.lora_r < 1 or self.lora_alpha < 1 or not 0 <= self.lora_dropout < 1 or self.lora_layers_from < 0:
            raise ValueError("TrainConfig: bad LoRA settings")

    @classmethod
    def from_json(cls, path: str | Path, **overrides) -> "TrainConfig":
        return read_config(cls, path, overrides)


def read_config(cls, path: str | Path, overrides: dict):
    """A run config dataclass from its JSON file (a ``description`` key is allowed and ignored;
    unknown keys are refused; lists become tuples), with the non-None ``overrides`` applied."""
    data = json.loads(Path(path).read_text())
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known - {"description"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**data)


def get_lr(step: int, total: int, warmup: int, base: float, floor: float = 0.1) -> float:
    """Linear warmup to ``base``, then cosine decay to ``floor * base`` at ``total``."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def batches(items: Sequence, batch_size: int, rng: random.Random):
    """Endless shuffled epochs of ``batch_size`` items."""
    order = list(range(len(items)))
    while True:
        rng.shuffle(order)
        for s in range(0, len(order) - batch_size + 1, batch_size):
            yield [items[i] for i in order[s:s + batch_size]]


def mean_loss(loss_fn: Callable, val_batches: Sequence) -> float:
    """Mean of ``loss_fn`` over held-out batches, without gradients."""
    with torch.no_grad():
        losses = [float(loss_fn(b)) for b in val_batches]
    return sum(losses) / max(1, len(losses))


def maximise(key: str) -> Callable[[dict], float]:
    """``best_by`` for a metric where higher is better."""
    return lambda row: row[key]


def minimise(key: str) -> Callable[[dict], float]:
    """``best_by`` for a metric where lower is better (a loss)."""
    return lambda row: -row[key]


@dataclass
class Task:
    """The model side of a run."""

    loss: Callable[[Any], torch.Tensor]  # a training batch -> scalar loss
    batches: Callable[[int, int], Iterable]  # (epoch, first step) -> that epoch's batches (steps: endless)
    optimizer: torch.optim.Optimizer
    validate: Callable[[], dict[str, float]] | None = None  # held-out metrics; sets its own modes
    train_mode: Callable[[], None] = lambda: None  # before each epoch and after each validation
    lr_at: Callable[[int], float] | None = None  # step -> lr of every param group, set before the step
    scheduler: Any = None  # stepped after every optimizer step (e.g. OneCycleLR)
    modules: Sequence[torch.nn.Module] = ()  # what ``best_by`` snapshots and restores
    params: Sequence[torch.nn.Parameter] = ()  # what ``clip_grad`` clips and checkpoints hold
    ema: Any = None  # e.g. diffusers' ``EMAModel`` of ``params``: stepped after every optimizer step, checkpointed


@dataclass(frozen=True)
class LoopConfig:
    epochs: int = 1
    max_steps: int | None = None  # set: step mode (see the module docstring)
    eval_every: int | None = None  # step mode: steps between validations
    eval_at_start: bool = False  # step mode: validate before the first step (the curve's start)
    best_by: Callable[[dict], float] | None = None  # row -> score, higher is better; None: keep the last
    max_minutes: float | None = None
    clip_grad: float | None = None
    checkpoint: Path | None = None  # step mode: resumable checkpoint file
    save_every: int | None = None
    steps_per_epoch: int | None = None  # epoch mode: for the progress bar's total
    desc: str = "train"
    progress: bool = True


@dataclass
class FitResult:
    steps: int
    curve: list[tuple[int, float]]  # (step, training loss) of every step
    history: list[dict]  # one row per validation: {"epoch" | "step", ["train_loss",] **metrics[, "best"]}
    seconds: float
    stopped_by: str  # "epochs" | "max_steps" | "time budget"
    best: dict | None = None  # the selected row (best_by), else None

    def series(self, key: str, x: str = "step") -> tuple[list, list]:
        rows = [r for r in self.history if key in r]
        return [r[x] for r in rows], [r[key] for r in rows]


@dataclass
class _State:
    step: int = 0
    epoch: int = 0
    curve: list = field(default_factory=list)
    history: list = field(default_factory=list)
    seconds: float = 0.0
    epoch_losses: list = field(default_factory=list)
    best_score: float | None = None
    best_state: list | None = None


def fit(task: Task, cfg: LoopConfig) -> FitResult:
    """Train ``task`` as ``cfg`` says; returns the curves and the selected row."""
    st = _resume(task, cfg)
    start = time.monotonic() - st.seconds
    stepwise = cfg.max_steps is not None
    total = cfg.max_steps if stepwise else (cfg.steps_per_epoch * cfg.epochs if cfg.steps_per_epoch else None)
    bar = tqdm(total=total, initial=st.step, desc=cfg.desc, unit="step", disable=not cfg.progress)
    if stepwise and cfg.eval_at_start and st.step == 0 and task.validate:
        _record(task, cfg, st, {"step": 0}, bar)
    stopped_by = _run_steps(task, cfg, st, start, bar) if stepwise else _run_epochs(task, cfg, st, start, bar)
    bar.close()
    if stepwise and task.validate and (not st.history or st.history[-1]["step"] != st.step):
        _record(task, cfg, st, {"step": st.step}, bar)
    st.seconds = time.monotonic() - start
    if cfg.checkpoint:
        _save_ckpt(cfg.checkpoint, task, st)
    if st.best_state is not None:
        for module, state in zip(task.modules, st.best_state, strict=True):
            module.load_state_dict(state)
    best = next((r for r in reversed(st.history) if r.get("best")), None)
    return FitResult(st.step, st.curve, st.history, st.seconds, stopped_by, best)


def _run_epochs(task: Task, cfg: LoopConfig, st: _State, start: float, bar) -> str:
    while st.epoch < cfg.epochs:
        task.train_mode()
        st.epoch_losses = []
        for batch in task.batches(st.epoch, st.step):
            _step(task, cfg, st, batch, bar)
        st.epoch += 1
        _record(task, cfg, st, {"epoch": st.epoch, "train_loss": sum(st.epoch_losses) / max(1, len(st.epoch_losses))}, bar)
        if _over_budget(cfg, start) and st.epoch < cfg.epochs:
            logger.info("%s: time budget of %.1f min reached after epoch %d", cfg.desc, cfg.max_minutes, st.epoch)
            return "time budget"
    return "epochs"


def _run_steps(task: Task, cfg: LoopConfig, st: _State, start: float, bar) -> str:
    task.train_mode()
    stream = iter(task.batches(st.epoch, st.step))
    while st.step < cfg.max_steps:
        if _over_budget(cfg, start):
            logger.info("%s: time budget of %.1f min reached at step %d", cfg.desc, cfg.max_minutes, st.step)
            return "time budget"
        _step(task, cfg, st, next(stream), bar)
        if task.validate and cfg.eval_every and (st.step % cfg.eval_every == 0 or st.step == cfg.max_steps):
            _record(task, cfg, st, {"step": st.step}, bar)
            task.train_mode()
        if cfg.checkpoint and cfg.save_every and st.step % cfg.save_every == 0:
            st.seconds = time.monotonic() - start
            _save_ckpt(cfg.checkpoint, task, st)
    return "max_steps"


def _over_budget(cfg: LoopConfig, start: float) -> bool:
    return cfg.max_minutes is not None and (time.monotonic() - start) / 60 > cfg.max_minutes


def _step(task: Task, cfg: LoopConfig, st: _State, batch, bar) -> None:
    if task.lr_at is not None:
        lr = task.lr_at(st.step)
        for group in task.optimizer.param_groups:
            group["lr"] = lr
    loss = task.loss(batch)
    task.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.clip_grad:
        torch.nn.utils.clip_grad_norm_(task.params, cfg.clip_grad)
    task.optimizer.step()
    if task.scheduler is not None:
        task.scheduler.step()
    if task.ema is not None:
        task.ema.step(task.params)
    st.step += 1
    value = loss.item()
    st.curve.append((st.step, value))
    st.epoch_losses.append(value)
    bar.update(1)
    bar.set_postfix(loss=f"{value:.3f}")


def _record(task: Task, cfg: LoopConfig, st: _State, row: dict, bar) -> None:
    """Validate, append the row, and snapshot the modules when it is the best so far."""
    if task.validate is not None:
        row.update(task.validate())
    st.history.append(row)
    if cfg.best_by is not None:
        score = cfg.best_by(row)
        if st.best_score is None or score > st.best_score:
            st.best_score = score
            st.best_state = [{k: v.detach().cpu().clone() for k, v in m.state_dict().items()} for m in task.modules]
            row["best"] = True
    shown = {k: f"{v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "train_loss"}
    if shown:
        bar.write(f"{cfg.desc} {'step' if 'step' in row else 'epoch'} {row.get('step', row.get('epoch'))}: "
                  + ", ".join(f"{k} {v}" for k, v in list(shown.items())[:4]))


def _save_ckpt(path: Path, task: Task, st: _State) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"params": [p.detach().cpu() for p in task.params], "optimizer": task.optimizer.state_dict(),
                "step": st.step, "epoch": st.epoch, "train_loss": st.curve, "history": st.history,
                "seconds": st.seconds, "best_score": st.best_score, "best_state": st.best_state,
                "ema": task.ema.state_dict() if task.ema is not None else None}, tmp)
    tmp.replace(path)


def _resume(task: Task, cfg: LoopConfig) -> _State:
    if not (cfg.checkpoint and cfg.checkpoint.is_file()):
        return _State()
    ckpt = torch.load(cfg.checkpoint, weights_only=False)
    for p, saved in zip(task.params, ckpt["params"], strict=True):
        p.data.copy_(saved)
    task.optimizer.load_state_dict(ckpt["optimizer"])
    if task.ema is not None and ckpt.get("ema") is not None:
        task.ema.load_state_dict(ckpt["ema"])
    logger.info("resumed from %s at step %d", cfg.checkpoint, ckpt["step"])
    return _State(step=ckpt["step"], epoch=ckpt.get("epoch", 0), curve=ckpt["train_loss"],
                  history=ckpt.get("history", []), seconds=ckpt["seconds"],
                  best_score=ckpt.get("best_score"), best_state=ckpt.get("best_state"))


def tail_mean(curve: list[tuple[int, float]], n: int = 20) -> float:
    """Mean of the last ``n`` training losses (rounded): the 'final train loss' of a run."""
    tail = [v for _, v in curve[-n:]]
    return round(sum(tail) / max(1, len(tail)), 4)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)) + "\n")
