"""Train the image-text alignment adaptor (CLIP-style, symmetric InfoNCE, learned temperature).

Recipe: seed -> load frozen encoders -> cache catalog features -> train the two heads on
the "train" split -> report Recall@1/@10 both ways on the "val" split each epoch -> save
safetensors + config + loss/recall curves. The "test" split is never seen (it is the
evaluation's). Run: ``shopassist train-alignment [--config JSON] [--out DIR]``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from adapters.alignment import AlignmentAdaptor, clip_loss, save_alignment
from adapters.config import DEFAULT_ALIGNMENT_DIR, AlignmentConfig, EncoderConfig
from adapters.loading import load_image_encoder, load_text_encoder, resolve_device
from adapters.encoders import ImageEncoder, TextEncoder
from finetune.features import catalog_features
from finetune.plots import Panel, plot_panels
from retrieval.catalog import SAMPLE_CATALOG, read_catalog, split_of

logger = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class AlignmentRunConfig:
    catalog: str = str(SAMPLE_CATALOG)
    out: str = DEFAULT_ALIGNMENT_DIR
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
    """Train and save an adaptor for the given encoders (default: the configured ones)."""
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
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, int(tr.sum()) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.1)
    tr_img, tr_txt = img[tr].to(device), txt[tr].to(device)
    tr_lab = labels[tr].to(device) if labels is not None else None
    va_img, va_txt = img[va].to(device), txt[va].to(device)
    history: list[dict] = []
    best_state, best_loss = None, float("inf")
    drop = torch.nn.Dropout(cfg.feature_dropout)
    start = time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc="align", unit="epoch")
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(tr_img), device=device)
        losses = []
        for s in range(steps_per_epoch):
            idx = perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            loss = clip_loss(*model(drop(tr_img[idx]), drop(tr_txt[idx])),
                             labels=None if tr_lab is None else tr_lab[idx],
                             image_image_weight=cfg.image_image_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            vi, vt, scale = model(va_img, va_txt)
            val_loss = clip_loss(vi, vt, scale).item()
            rec = recall_at(vi.cpu(), vt.cpu())
        row = {"epoch": epoch + 1, "train_loss": sum(losses) / len(losses), "val_loss": val_loss,
               "temperature": float(1 / scale), **rec}
        history.append(row)
        if val_loss < best_loss:  # keep the epoch that generalises best
            best_loss, best_state = val_loss, {k: v.detach().clone() for k, v in model.state_dict().items()}
            row["best"] = True
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{val_loss:.3f}", r10=f"{rec['t2i_R@10']:.2f}")
    model.load_state_dict(best_state)
    model.cpu()
    best = next(h for h in reversed(history) if h.get("best"))
    result = {"config": asdict(cfg), "train_pairs": int(tr.sum()), "val_pairs": int(va.sum()),
              "seconds": round(time.perf_counter() - start, 1), "best": best, "history": history,
              "image_encoder": image_encoder.name, "text_encoder": text_encoder.name}
    out = save_alignment(model, cfg.out, extra={"image_encoder": image_encoder.name,
                                                 "text_encoder": text_encoder.name,
                                                 "val": best})
    (out / "training.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_history(history, out / "training_curves.png")
    return result


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
