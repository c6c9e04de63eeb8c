"""Train the output projector: LLM hidden states at a request -> the diffusion text-conditioning space.

Recipe (GILL-style): every way the catalog's captions say a product (all the sentence shapes
the embedded generator was trained on, each text once) becomes a shopper-side request
"Imagine <caption>" that goes through the frozen LLM (its last hidden states are the input),
and the prompt the output adaptor would write for it goes through the pipeline's frozen text
encoder (its padded last hidden state, exactly what ``prompt_embeds`` replaces, is the
target). A text is held out with its product's split unless an earlier split already has it,
so the ``val`` and ``test`` captions are texts the projector never saw. One caption per product
over 1,500 products (the first recipe) reached a held-out centred cosine of 0.25 and pictures
at chance; all captions of the catalog (about 4,800 train texts) reach about 0.87. The
projector learns MSE + cosine on the "train" split and is scored on the "val" split by the
mean per-token cosine between projected and text-encoder embeddings, next to a baseline
that always predicts the mean training target, and by the *centred* cosine (both sides minus
that mean target: the caption-specific part, where the baseline scores 0). Padded positions
dominate the 77 tokens, so the raw cosine is high for any sensible output; the centred one is
the number that says whether the projector carries the caption. The epoch is picked on "val";
the final model is then scored once on the "test" split, which nothing was tuned on.

Targets: ``pipeline=<folder>`` uses that pipeline's text encoder: the default config names
the embedded catalog model (``adapters/weights/diffusion/pipeline``, whose UNet was trained
on the packaged MiniLM's token states), or any SD 1.x/2.x folder (its CLIP text encoder).
With no folder (the quick test config), a tiny random-init CLIP text encoder built from
config stands in: the run then checks the machinery only. LLM: the packaged SmolLM2-135M
(``llm="smollm2"``) or a tiny random-init Llama (``llm="tiny"``, tests and quick runs).
Run: ``shopassist train-output-projector [--pipeline DIR] [--limit N] [--epochs E] [--name NAME | --out DIR]``
(writes ``runs/<name>/``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from tqdm.auto import tqdm

from adapters.loading import resolve_device
from adapters.loading.diffusion import load_text_conditioner, tiny_text_encoder
from adapters.output.adaptor import build_prompts
from adapters.output.projector import (
    LLM_REQUEST,
    SHIPPED_OUTPUT_PROJECTOR,
    OutputProjector,
    OutputProjectorConfig,
    embedding_loss,
    llm_request_states,
    save_output_projector,
    text_encoder_targets,
)
from adapters.output.tiny_llm import build_tiny_llm
from finetune.diffusion_data import descriptions
from finetune.plots import Panel, plot_panels
from finetune.runs import REPO, run_folder
from finetune.trainer import LoopConfig, Task, fit, get_lr, maximise
from retrieval.catalog import SAMPLE_CATALOG, Product, read_catalog, split_of

logger = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class OutputProjectorRunConfig:
    catalog: str = str(SAMPLE_CATALOG)
    out: str = field(default_factory=lambda: str(run_folder("train-output-projector")))
    pipeline: str | None = None  # SD 1.x/2.x or the embedded catalog folder; None: tiny random-init CLIP text encoder
    llm: Literal["smollm2", "tiny"] = "smollm2"
    limit: int | None = None  # first N products (quick runs); None: the whole catalog
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    warmup_steps: int = 50
    weight_decay: float = 0.01
    mse_weight: float = 1.0
    cos_weight: float = 1.0
    projector: str = "mlp2x_gelu"
    num_heads: int = 4
    max_llm_tokens: int = 48
    feature_batch: int = 32
    seed: int = 0
    device: str = "auto"
    cache_dir: str = ".cache/output_projector"
    threads: int | None = None  # torch CPU threads while training (1 is fastest on busy shared cores)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError("OutputProjectorRunConfig: epochs >= 1, batch_size >= 2 and lr > 0 are required")
        if self.llm not in ("smollm2", "tiny"):
            raise ValueError(f"OutputProjectorRunConfig: llm {self.llm!r} must be 'smollm2' or 'tiny'")
        if self.limit is not None and self.limit < 20:
            raise ValueError("OutputProjectorRunConfig: limit must be at least 20 products")

    @classmethod
    def from_json(cls, path: str | Path, **overrides) -> "OutputProjectorRunConfig":
        data = json.loads(Path(path).read_text())
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)


SPLITS = ("train", "val", "test")


def caption_splits(products: list[Product]) -> tuple[list[str], list[str]]:
    """(captions, their split): every description of every product from real metadata, as the
    embedded generator was trained on them ("a navy blue shirt for men"; never the title: no
    brand for a picture model to draw), each text once, in the first split that has it."""
    texts: dict[str, str] = {}
    for split in SPLITS:
        for p in products:
            if split_of(p.id) == split:
                for d in descriptions(p):
                    texts.setdefault(d, split)
    return list(texts), list(texts.values())


def request_pairs(captions: list[str]) -> tuple[list[str], list[str]]:
    """(LLM-side request texts, the prompts the output adaptor writes for them)."""
    llm_texts = [LLM_REQUEST.format(desc=c) for c in captions]
    return llm_texts, [build_prompts("imagine", t, None)[0] for t in llm_texts]


def load_models(cfg: OutputProjectorRunConfig, device: torch.device):
    if cfg.llm == "tiny":
        llm_tok, llm = build_tiny_llm(seed=cfg.seed)
    else:
        from adapters.loading.mllm import load_smollm2

        llm_tok, llm = load_smollm2()
    if cfg.pipeline:  # a relative folder (the default config's embedded model) is the repository's
        folder = REPO / cfg.pipeline  # an absolute cfg.pipeline stays as it is
        te_tok, te = load_text_conditioner(folder, str(device))
    else:
        te_tok, te = tiny_text_encoder(32, cfg.seed)
    return llm_tok, llm.to(device).eval(), te_tok, te.to(device).eval()


def features(cfg, models, llm_texts, target_texts, device):
    """Cached (hidden (N, T, H) fp16, mask (N, T), targets (N, L, D) fp32). ``models``: the four
    models, or a callable returning them (called only on a cache miss)."""
    key = hashlib.sha256(json.dumps([cfg.llm, cfg.pipeline, cfg.seed, cfg.max_llm_tokens, llm_texts,
                                     target_texts]).encode()).hexdigest()[:16]
    path = Path(cfg.cache_dir) / f"features_{key}.pt"
    if path.is_file():
        return torch.load(path)
    llm_tok, llm, te_tok, te = models() if callable(models) else models
    hidden, masks, targets = [], [], []
    for i in tqdm(range(0, len(llm_texts), cfg.feature_batch), desc="features", unit="batch"):
        h, m = llm_request_states(llm, llm_tok, llm_texts[i:i + cfg.feature_batch], cfg.max_llm_tokens, device=device)
        hidden.append(h.half().cpu())
        masks.append(m.cpu())
        targets.append(text_encoder_targets(te_tok, te, target_texts[i:i + cfg.feature_batch], device).cpu())
    t = max(h.shape[1] for h in hidden)
    hidden = torch.cat([torch.nn.functional.pad(h, (0, 0, 0, t - h.shape[1])) for h in hidden])
    masks = torch.cat([torch.nn.functional.pad(m, (0, t - m.shape[1])) for m in masks])
    feats = (hidden, masks, torch.cat(targets))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(feats, path)
    return feats


@torch.no_grad()
def evaluate(model, hidden, mask, target, base: torch.Tensor, cfg) -> dict:
    model.eval()
    pred = model(hidden.float(), mask)
    loss, cos = embedding_loss(pred, target, cfg.mse_weight, cfg.cos_weight)
    cosine = torch.nn.functional.cosine_similarity
    base_cos = cosine(base.expand_as(target), target, dim=-1).mean()
    # the caption-specific part: both sides minus the mean training target (the baseline scores 0 here)
    centred = cosine(pred - base, target - base, dim=-1).mean()
    return {"val_loss": float(loss), "val_cosine": float(cos), "baseline_cosine": float(base_cos),
            "val_centred_cosine": float(centred)}


def train(cfg: OutputProjectorRunConfig, models=None) -> dict:
    """Train, keep the epoch with the best val centred cosine, save weights + config + curves to ``cfg.out``."""
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    products = [p for p in read_catalog(cfg.catalog).products if p.title][: cfg.limit]
    captions, split = caption_splits(products)
    llm_texts, target_texts = request_pairs(captions)
    hidden, mask, target = features(cfg, models or (lambda: load_models(cfg, device)), llm_texts, target_texts, device)
    tr, va, te = (torch.tensor([s == name for s in split]) for name in ("train", "val", "test"))
    if tr.sum() < 8 or va.sum() < 2:
        raise ValueError(f"too few captions to train ({int(tr.sum())} train, {int(va.sum())} val): raise --limit")
    model = OutputProjector(OutputProjectorConfig(llm_dim=hidden.shape[-1], cond_dim=target.shape[-1],
                                                  num_tokens=target.shape[1], projector=cfg.projector,
                                                  num_heads=cfg.num_heads)).to(device)
    train_set = (hidden[tr].to(device), mask[tr].to(device), target[tr].to(device))
    val_set = (hidden[va].to(device), mask[va].to(device), target[va].to(device))
    base = train_set[2].mean(0, keepdim=True)
    fitted = fit(_task(model, train_set, val_set, base, cfg, device),
                 LoopConfig(epochs=cfg.epochs, best_by=maximise("val_centred_cosine"),
                            steps_per_epoch=math.ceil(len(train_set[0]) / cfg.batch_size), desc="output projector"))
    # the test split: never trained on, never used to pick the epoch or the settings
    test = evaluate(model, hidden[te].to(device), mask[te].to(device), target[te].to(device), base, cfg) if te.any() else None
    result = {"config": asdict(cfg), "train_captions": int(tr.sum()), "val_captions": int(va.sum()),
              "target": cfg.pipeline or "tiny random-init CLIPTextModel (no SD checkpoint given)",
              "llm": cfg.llm, "seconds": round(fitted.seconds, 1), "best": fitted.best,
              "test_captions": int(te.sum()), "test": test, "history": fitted.history}
    out = save_output_projector(model.cpu(), cfg.out, extra={"target": result["target"], "llm": cfg.llm, "llm_seed": cfg.seed,
                                                                "val": fitted.best, "test": test})
    (out / "training.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_history(fitted.history, out / "loss_curve.png")
    return result


def _task(model: OutputProjector, train_set, val_set, base: torch.Tensor, cfg: OutputProjectorRunConfig, device) -> Task:
    """AdamW on MSE + cosine over shuffled batches of the train captions; validation: :func:`evaluate`."""
    tr_h, tr_m, tr_t = train_set

    def epoch_batches(_epoch, _step):
        yield from torch.randperm(len(tr_h), device=device).split(cfg.batch_size)

    def loss(idx):
        return embedding_loss(model(tr_h[idx].float(), tr_m[idx]), tr_t[idx], cfg.mse_weight, cfg.cos_weight)[0]

    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * math.ceil(len(tr_h) / cfg.batch_size)
    return Task(loss=loss, batches=epoch_batches, optimizer=opt, train_mode=model.train, modules=[model],
                validate=lambda: evaluate(model, *val_set, base, cfg),
                lr_at=lambda s: get_lr(s, total, cfg.warmup_steps, cfg.lr))


def plot_history(history: list[dict], path: Path) -> None:
    epochs = [h["epoch"] for h in history]

    def ys(key):
        return epochs, [h[key] for h in history]

    plot_panels([
        Panel("output projector loss", "MSE + (1 - cosine)", {"train": ys("train_loss"), "val": ys("val_loss")},
              yscale="log"),
        Panel("held-out cosine to text-encoder embeddings", "per-token cosine",
              {"projector (val)": ys("val_cosine"), "mean-target baseline": ys("baseline_cosine"),
               "projector, centred (val)": ys("val_centred_cosine")}, styles={"mean-target baseline": "--"}),
    ], path)


def main(config_path: str | None = None, **overrides) -> dict:
    cfg = OutputProjectorRunConfig.from_json(config_path or CONFIG_DIR / "output_projector_default.json", **overrides)
    return train(cfg)


SHIPPED_NAMES = ("output_projector.safetensors", "output_projector.json", "training.json", "loss_curve.png")


def run_from_args(args) -> dict:
    """``shopassist train-output-projector``: train into the run folder and print the result;
    ``--install`` copies it into ``adapters/weights/output_projector/``, the embedded
    generator's text side with ``GENERATION_TEXT_SIDE=llm``."""
    out = run_folder("train-output-projector", args.name, args.out)
    result = main(args.config, out=str(out), pipeline=args.pipeline, llm=args.llm, limit=args.limit,
                  epochs=args.epochs, device=args.device, catalog=args.catalog)
    best = result["best"]
    print(f"trained on {result['train_captions']} captions ({result['llm']} -> {result['target']}), "
          f"{result['seconds']} s; held-out ({result['val_captions']} captions): cosine {best['val_cosine']:.4f} "
          f"(mean-target baseline {best['baseline_cosine']:.4f}), centred cosine {best['val_centred_cosine']:.4f}; "
          f"saved to {out}")
    if result.get("test"):
        t = result["test"]
        print(f"test split ({result['test_captions']} captions, untouched by training and selection): cosine "
              f"{t['val_cosine']:.4f} (baseline {t['baseline_cosine']:.4f}), centred cosine {t['val_centred_cosine']:.4f}")
    if getattr(args, "install", False):
        from finetune.runs import install_and_report

        install_and_report(out, SHIPPED_OUTPUT_PROJECTOR, SHIPPED_NAMES, "the embedded generator's LLM text side changed")
    return result
