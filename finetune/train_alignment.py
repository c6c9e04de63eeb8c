"""Train the image-text alignment adaptor (CLIP-style, symmetric InfoNCE, learned temperature).

Recipe: seed -> load frozen encoders -> cache catalog features -> train the two heads on
the "train" split -> report Recall@1/@10 both ways on the "val" split each epoch -> save
safetensors + config + loss/recall curves. The "test" split is never seen (it is the
evaluation's). Run: ``shopassist train-alignment [--config JSON] [--name NAME | --out DIR] [--install]``
(writes ``runs/<name>/``; ``--install`` copies the result into ``adapters/weights/alignment``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from adapters.alignment import AlignmentAdaptor, clip_loss, save_alignment
from adapters.config import DEFAULT_ALIGNMENT_DIR, AlignmentConfig, EncoderConfig
from adapters.loading import load_image_encoder, load_text_encoder, resolve_device
from adapters.encoders import ImageEncoder, TextEncoder
from finetune.features import catalog_features
from finetune.plots import Panel, plot_panels
from finetune.runs import install_and_report, run_folder
from finetune.trainer import LoopConfig, Task, fit, minimise
from retrieval.catalog import SAMPLE_CATALOG, read_catalog, split_of

logger = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class AlignmentRunConfig:
    catalog: str = str(SAMPLE_CATALOG)
    out: str = field(default_factory=lambda: str(run_folder("train-alignment")))  # never the shipped folder
    cache_dir: str = ".cache"
    shared_dim: int = 256
    image_projector: str = "mlp2x_gelu"
    text_projector: str = "linear"
    epochs: int = 40
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.05
    feature_dropout: float = 0.0  # dropout on the frozen features while training (regularises)
    label_attributes: tuple[str, ...] = ()  # e.g. ("article_type", "base_colour"): same values = positives
    image_image_weight: float = 0.0
    seed: int = 0
    device: str = "auto"
    limit: int | None = None  # use only the first N products (quick runs)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError("AlignmentRunConfig: epochs >= 1, batch_size >= 2 and lr > 0 are required")

    @classmethod
    def from_json(cls, path: str | Path, **overrides) -> "AlignmentRunConfig":
        data = json.loads(Path(path).read_text())
        data.update({k: v for k, v in overrides.items() if v is not None})
        data["label_attributes"] = tuple(data.get("label_attributes", ()))
        return cls(**data)


@torch.no_grad()
def recall_at(image_emb: torch.Tensor, text_emb: torch.Tensor, ks=(1, 10)) -> dict[str, float]:
    """Recall@k for image->text and text->image, where pair i matches pair i."""
    sims = image_emb @ text_emb.T
    target = torch.arange(len(sims))
    out = {}
    for name, s in (("i2t", sims), ("t2i", sims.T)):
        rank = (s > s[target, target].unsqueeze(1)).sum(1)  # how many score above the true pair
        for k in ks:
            out[f"{name}_R@{k}"] = float((rank < k).float().mean())
    return out


def train(cfg: AlignmentRunConfig, image_encoder: ImageEncoder | None = None,
          text_encoder: TextEncoder | None = None) -> dict:
    """Train and save an adaptor for the given encoders (default: the configured ones) to ``cfg.out``."""
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    enc_cfg = EncoderConfig(device=cfg.device)
    image_encoder = image_encoder or load_image_encoder(enc_cfg.image, device)
    text_encoder = text_encoder or load_text_encoder(enc_cfg.text, device)
    catalog = read_catalog(cfg.catalog)
    products = catalog.products[: cfg.limit] if cfg.limit else catalog.products
    img, txt, has_img = catalog_features(image_encoder, text_encoder, products, cfg.cache_dir)
    splits = [split_of(p.id) for p in products]
    labels = _labels(products, cfg.label_attributes)
    tr = torch.tensor([s == "train" for s in splits]) & has_img
    va = torch.tensor([s == "val" for s in splits]) & has_img
    if tr.sum() < cfg.batch_size // 4 or va.sum() < 2:
        raise ValueError(f"too few products with images to train ({int(tr.sum())} train, {int(va.sum())} val)")
    model = AlignmentAdaptor(AlignmentConfig(
        image_dim=img.shape[1], text_dim=txt.shape[1], shared_dim=cfg.shared_dim,
        image_projector=cfg.image_projector, text_projector=cfg.text_projector,
    ))
    model.set_feature_stats(img[tr], txt[tr])
    model.to(device)
    data = [t.to(device) for t in (img[tr], txt[tr], img[va], txt[va])]
    data.append(labels[tr].to(device) if labels is not None else None)
    task, steps_per_epoch = _task(model, data, cfg, device)
    fitted = fit(task, LoopConfig(epochs=cfg.epochs, best_by=minimise("val_loss"), steps_per_epoch=steps_per_epoch,
                                  desc="align"))  # keep the epoch that generalises best
    model.cpu()
    result = {"config": asdict(cfg), "train_pairs": int(tr.sum()), "val_pairs": int(va.sum()),
              "seconds": round(fitted.seconds, 1), "best": fitted.best, "history": fitted.history,
              "image_encoder": image_encoder.name, "text_encoder": text_encoder.name}
    out = save_alignment(model, cfg.out, extra={"image_encoder": image_encoder.name,
                                                 "text_encoder": text_encoder.name,
                                                 "val": fitted.best})
    (out / "training.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_history(fitted.history, out / "training_curves.png")
    return result


def _task(model: AlignmentAdaptor, data: list, cfg: AlignmentRunConfig, device) -> tuple[Task, int]:
    """AdamW + one-cycle lr over full batches of the train pairs (features dropped out), symmetric
    InfoNCE; validation: the val loss and Recall@1/@10 both ways."""
    tr_img, tr_txt, va_img, va_txt, tr_lab = data
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(tr_img) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.1)
    drop = torch.nn.Dropout(cfg.feature_dropout)

    def epoch_batches(_epoch, _step):
        perm = torch.randperm(len(tr_img), device=device)
        for s in range(steps_per_epoch):
            yield perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]

    def loss(idx):
        return clip_loss(*model(drop(tr_img[idx]), drop(tr_txt[idx])), labels=None if tr_lab is None else tr_lab[idx],
                         image_image_weight=cfg.image_image_weight)

    @torch.no_grad()
    def validate() -> dict:
        model.eval()
        vi, vt, scale = model(va_img, va_txt)
        return {"val_loss": clip_loss(vi, vt, scale).item(), "temperature": float(1 / scale), **recall_at(vi.cpu(), vt.cpu())}

    return Task(loss=loss, batches=epoch_batches, optimizer=opt, scheduler=sched, validate=validate,
                train_mode=model.train, modules=[model]), steps_per_epoch


def _labels(products, attributes: tuple[str, ...]) -> torch.Tensor | None:
    """One integer class per product from the given attributes (None: plain pairwise InfoNCE)."""
    if not attributes:
        return None
    classes: dict[tuple, int] = {}
    return torch.tensor([classes.setdefault(tuple(getattr(p, a) for a in attributes), len(classes))
                         for p in products])


def plot_history(history: list[dict], path: Path) -> None:
    epochs = [h["epoch"] for h in history]

    def series(*keys):
        return {k: (epochs, [h[k] for h in history]) for k in keys}

    plot_panels([
        Panel("alignment adaptor loss", "InfoNCE loss",
              {"train": (epochs, [h["train_loss"] for h in history]), "val": (epochs, [h["val_loss"] for h in history])}),
        Panel("val retrieval recall", "recall (val)", series("i2t_R@1", "i2t_R@10", "t2i_R@1", "t2i_R@10"), ylim=(0, 1)),
    ], path)


def main(config_path: str | None = None, **overrides) -> dict:
    path = config_path or CONFIG_DIR / "alignment_default.json"
    cfg = AlignmentRunConfig.from_json(path, **overrides)
    return train(cfg)


ALIGNMENT_FILES = ("alignment.safetensors", "config.json", "training.json", "training_curves.png")


def run_from_args(args) -> dict:
    """``shopassist train-alignment``: train into the run folder, print the result, ``--install`` if asked."""
    out = run_folder("train-alignment", args.name, args.out)
    result = main(args.config, out=str(out), epochs=args.epochs, device=args.device, catalog=args.catalog,
                  limit=args.limit)
    best = result["best"]
    print(f"alignment adaptor saved to {out} (epoch {best['epoch']} of {result['config']['epochs']}, "
          f"{result['seconds']} s): val i2t R@1 {best['i2t_R@1']:.3f} R@10 {best['i2t_R@10']:.3f}, "
          f"t2i R@1 {best['t2i_R@1']:.3f} R@10 {best['t2i_R@10']:.3f}")
    if args.install:
        install_and_report(out, DEFAULT_ALIGNMENT_DIR, ALIGNMENT_FILES,
                           "rebuild the store: shopassist ingest CATALOG --store DIR --rebuild")
    return result
