"""Fine-tune the later blocks of EfficientNet-Lite0 on catalog photos (``shopassist train-tower``).

Recipe: the stem and blocks ``< train_from_block`` stay at their ImageNet weights; their
activations for every train/val photo (at each canvas size, and mirrored) are computed
once and cached, so each epoch only runs the tuned part. Multi-task cross-entropy over
the catalog's attributes (article type, colour, gender, usage; classes with too few
training photos are ignored) teaches the tower what shoppers ask about. The "val" split
picks the best epoch; the "test" split is never seen (it is the evaluations'). Saves the
tuned weights, config, history and curves (see :mod:`adapters.tower`) to ``runs/<name>/``
(or --out); ``--install`` copies them into ``adapters/weights/tower``.

Sizes: the retrieval encoder reads 128x96 canvases and the LLaVA tower 160x128, so
training alternates batches of both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from adapters.imaging import ImageError, fit_to_canvas, load_image, to_float_array
from adapters.loading import resolve_device
from adapters.loading.encoders import load_efficientnet_backbone
from adapters.config import DEFAULT_TOWER_DIR
from adapters.tower import AttributeHeads, TowerConfig, run_prefix, run_suffix, save_tower
from finetune.cli_args import add_tower_args
from finetune.plots import Panel, plot_panels
from finetune.runs import install_and_report, run_folder
from finetune.trainer import LoopConfig, Task, fit
from retrieval.catalog import SAMPLE_CATALOG, Product, read_catalog, split_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TowerRunConfig:
    catalog: str = str(SAMPLE_CATALOG)
    out: str = field(default_factory=lambda: str(run_folder("train-tower")))  # never the shipped folder
    cache_dir: str = ".cache"
    sizes: tuple[tuple[int, int], ...] = ((128, 96), (160, 128))  # (height, width) canvases
    train_from_block: int = 11  # blocks 11-15 and the head (stride 32) are tuned
    attributes: tuple[str, ...] = ("article_type", "base_colour", "gender", "usage")
    attribute_weights: tuple[float, ...] = (1.0, 1.5, 0.5, 0.3)
    min_class_count: int = 5  # rarer classes are not learned (their photos still train the others)
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    seed: int = 0
    device: str = "auto"
    limit: int | None = None  # only the first N products (quick runs)
    max_minutes: float | None = None  # stop after the epoch that crosses this budget

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError("TowerRunConfig: epochs >= 1, batch_size >= 2 and lr > 0 are required")
        if len(self.attribute_weights) != len(self.attributes):
            raise ValueError("TowerRunConfig: one weight per attribute")
        if not 1 <= self.train_from_block <= 15:
            raise ValueError("TowerRunConfig: train_from_block must be in 1..15")


def _class_lists(products: list[Product], attributes, min_count: int) -> dict[str, list[str]]:
    out = {}
    for a in attributes:
        counts = Counter(getattr(p, a) for p in products if getattr(p, a))
        out[a] = sorted(c for c, n in counts.items() if n >= min_count)
    return out


def _targets(products: list[Product], classes: dict[str, list[str]]) -> dict[str, torch.Tensor]:
    index = {a: {c: i for i, c in enumerate(cs)} for a, cs in classes.items()}
    return {a: torch.tensor([index[a].get(getattr(p, a), -100) for p in products]) for a in classes}


@torch.no_grad()
def prefix_features(backbone, products: list[Product], size: tuple[int, int], upto: int,
                    cache_dir: str | None, device, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(activations (N, 2, C, h, w) fp16 for the photo and its mirror, ok (N,)), cached on disk."""
    h, w = size
    key = hashlib.sha256("|".join([f"{h}x{w}", str(upto)] + [f"{p.id}:{p.image}" for p in products]).encode()
                         ).hexdigest()[:16]
    cache = Path(cache_dir) / f"tower-prefix-{key}.pt" if cache_dir else None
    if cache and cache.is_file():
        data = torch.load(cache, weights_only=True)
        return data["acts"], data["ok"]
    backbone.eval()
    acts, ok = None, torch.zeros(len(products), dtype=torch.bool)
    for start in tqdm(range(0, len(products), batch_size), desc=f"frozen blocks {h}x{w}", unit="batch"):
        arrays, rows = [], []
        for i, p in enumerate(products[start:start + batch_size], start):
            try:
                arrays.append(to_float_array(fit_to_canvas(load_image(p.image), (w, h))))
                rows.append(i)
            except (ImageError, TypeError) as exc:
                logger.warning("product %s: %s", p.id, exc)
        if not rows:
            continue
        x = (torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) * 255.0 - 127.0) / 128.0
        both = torch.cat([x, x.flip(3)]).to(device)
        out = run_prefix(backbone, both, upto).to("cpu", torch.float16)
        out = torch.stack([out[: len(rows)], out[len(rows):]], dim=1)
        if acts is None:
            acts = torch.zeros(len(products), *out.shape[1:], dtype=torch.float16)
        acts[rows] = out
        ok[rows] = True
    if acts is None:
        raise ValueError("no readable photo among the products")
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"acts": acts, "ok": ok}, cache)
    return acts, ok


def _accuracy(logits: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> dict[str, float]:
    out = {}
    for a, t in targets.items():
        known = t != -100
        out[a] = float((logits[a].argmax(1)[known] == t[known]).float().mean()) if known.any() else float("nan")
    return out


def train(cfg: TowerRunConfig) -> dict:
    """Tune the tower on ``cfg.catalog`` and save it (weights, config, history, curves) to ``cfg.out``."""
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    device = resolve_device(cfg.device)
    catalog = read_catalog(cfg.catalog)
    products = [p for p in (catalog.products[: cfg.limit] if cfg.limit else catalog.products) if p.image]
    train_p = [p for p in products if split_of(p.id) == "train"]
    val_p = [p for p in products if split_of(p.id) == "val"]
    if len(train_p) < cfg.batch_size or not val_p:
        raise ValueError(f"too few photos to train the tower ({len(train_p)} train, {len(val_p)} val)")
    classes = _class_lists(train_p, cfg.attributes, cfg.min_class_count)
    backbone = load_efficientnet_backbone(pretrained=True).to(device)
    data = _size_data(backbone, train_p, val_p, classes, cfg, device)
    heads = AttributeHeads(classes).to(device)
    task, steps = _task(backbone, heads, data, classes, cfg, device, rng)
    fitted = fit(task, LoopConfig(epochs=cfg.epochs, best_by=_selection_score, max_minutes=cfg.max_minutes,
                                  steps_per_epoch=steps, desc="tower"))
    tower_cfg = TowerConfig(train_from_block=cfg.train_from_block, classes=classes)
    result = {"config": asdict(cfg), "train_photos": len(train_p), "val_photos": len(val_p),
              "seconds": round(fitted.seconds, 1), "best": fitted.best, "history": fitted.history}
    out = save_tower(backbone.cpu(), heads.cpu(), tower_cfg, cfg.out, extra={"val": fitted.best})
    (out / "training.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_history(fitted.history, out / "training_curves.png")
    return result


def _selection_score(row: dict) -> float:
    """The epoch kept: best mean val accuracy over article type and colour."""
    return float(np.mean([row[f"val_{a}_acc"] for a in ("article_type", "base_colour") if f"val_{a}_acc" in row]))


def _size_data(backbone, train_p, val_p, classes, cfg: TowerRunConfig, device) -> dict:
    """size -> (train activations, val activations, train targets, val targets), photos that loaded only."""
    tr_all, va_all = _targets(train_p, classes), _targets(val_p, classes)
    data = {}
    for size in cfg.sizes:
        tr_acts, tr_ok = prefix_features(backbone, train_p, size, cfg.train_from_block, cfg.cache_dir, device)
        va_acts, va_ok = prefix_features(backbone, val_p, size, cfg.train_from_block, cfg.cache_dir, device)
        data[size] = (tr_acts[tr_ok], va_acts[va_ok], {a: t[tr_ok] for a, t in tr_all.items()},
                      {a: t[va_ok] for a, t in va_all.items()})
    return data


def _task(backbone, heads, data: dict, classes, cfg: TowerRunConfig, device, rng: random.Random) -> tuple[Task, int]:
    """Blocks >= ``train_from_block``, the head conv and the heads train (backbone at lr/3), one-cycle lr;
    each epoch runs the batches of every canvas size in a shuffled order, photos mirrored at random."""
    for p in backbone.parameters():
        p.requires_grad_(False)
    tuned = [p for i in range(cfg.train_from_block, 16) for p in backbone._blocks[i].parameters()]
    tuned += list(backbone._conv_head.parameters()) + list(backbone._bn1.parameters())
    for p in tuned:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": tuned, "lr": cfg.lr / 3}, {"params": heads.parameters(), "lr": cfg.lr}],
                            weight_decay=cfg.weight_decay)
    steps_per_size = {s: max(1, len(d[0]) // cfg.batch_size) for s, d in data.items()}
    total = cfg.epochs * sum(steps_per_size.values())
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr / 3, cfg.lr], total_steps=total, pct_start=0.1)
    weights = dict(zip(cfg.attributes, cfg.attribute_weights))

    def train_mode():
        backbone.train()
        for i in range(cfg.train_from_block):  # frozen blocks keep their ImageNet statistics
            backbone._blocks[i].eval()
        heads.train()

    def epoch_batches(_epoch, _step):
        plan = [(s, b) for s, n in steps_per_size.items() for b in range(n)]
        rng.shuffle(plan)
        perms = {s: torch.randperm(len(d[0])) for s, d in data.items()}
        for size, b in plan:
            idx = perms[size][b * cfg.batch_size:(b + 1) * cfg.batch_size]
            yield size, idx, torch.randint(0, 2, (len(idx),))

    def loss(batch):
        size, idx, flip = batch
        tr_acts, _, tr_tgt, _ = data[size]
        logits = heads(run_suffix(backbone, tr_acts[idx, flip].to(device, torch.float32), cfg.train_from_block).mean((2, 3)))
        tgt = {a: t[idx].to(device) for a, t in tr_tgt.items()}
        return sum(weights[a] * F.cross_entropy(logits[a], tgt[a], ignore_index=-100, label_smoothing=cfg.label_smoothing)
                   for a in classes if (tgt[a] != -100).any())

    return Task(loss=loss, batches=epoch_batches, optimizer=opt, scheduler=sched, train_mode=train_mode,
                validate=lambda: _validate(backbone, heads, data, classes, cfg, device),
                modules=[backbone, heads]), sum(steps_per_size.values())


@torch.no_grad()
def _validate(backbone, heads, data, classes, cfg: TowerRunConfig, device) -> dict:
    backbone.eval()
    heads.eval()
    row = {}
    for size, (_, va_acts, _, tgt) in data.items():
        logits = {a: [] for a in classes}
        for s in range(0, len(va_acts), 128):
            out = heads(run_suffix(backbone, va_acts[s:s + 128, 0].to(device, torch.float32),
                                   cfg.train_from_block).mean((2, 3)))
            for a in classes:
                logits[a].append(out[a].cpu())
        acc = _accuracy({a: torch.cat(v) for a, v in logits.items()}, tgt)
        for a, v in acc.items():
            row.setdefault(f"val_{a}_acc", []).append(v)
    return {k: float(np.mean(v)) for k, v in row.items()}  # mean over the canvas sizes


def plot_history(history: list[dict], path: Path) -> None:
    epochs = [h["epoch"] for h in history]
    accs = {k[4:-4]: (epochs, [h[k] for h in history]) for k in history[0] if k.startswith("val_")}
    plot_panels([
        Panel("tower fine-tuning loss", "weighted cross-entropy", {"train": (epochs, [h["train_loss"] for h in history])}),
        Panel("val attribute accuracy", "accuracy (val)", accs, ylim=(0, 1)),
    ], path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="shopassist train-tower", description=__doc__.split("\n\n")[0])
    add_tower_args(parser)
    return run_from_args(parser.parse_args(argv))


TOWER_FILES = ("tower.safetensors", "config.json", "training.json", "training_curves.png")


def run_from_args(args) -> dict:
    """``shopassist train-tower``: train into the run folder, print the result, ``--install`` if asked."""
    out = run_folder("train-tower", args.name, args.out)
    overrides = {k: v for k, v in {"catalog": args.catalog, "out": str(out), "epochs": args.epochs,
                                   "limit": args.limit, "max_minutes": args.max_minutes,
                                   "device": args.device}.items() if v is not None}
    result = train(TowerRunConfig(**overrides))
    best = result["best"]
    accs = ", ".join(f"{k[4:-4]} {v:.3f}" for k, v in best.items() if k.startswith("val_"))
    print(f"tuned tower saved to {out} (epoch {best['epoch']}, {result['seconds']} s): val accuracy {accs}")
    if args.install:
        install_and_report(out, DEFAULT_TOWER_DIR, TOWER_FILES, "rebuild the store (shopassist ingest CATALOG "
                           "--store DIR --rebuild) and retrain the adaptors that read the tower: train-alignment, "
                           "train-projector, train-lora")
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
