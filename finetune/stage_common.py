"""Setup shared by ``train_projector`` and ``train_lora``: CLI flags, catalog rows,
cached features and encoded examples. Each script's ``main`` stays a short recipe."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from finetune.data_mllm import Example
from finetune.mllm_features import tower_features
from finetune.mllm_steps import encode_all, split_rows, val_batches
from finetune.trainer import TrainConfig

logger = logging.getLogger(__name__)

from finetune.cli_args import CONFIG_DIR
SYSTEM_PROMPT = "You are a helpful shopping assistant."  # same as MLLMConfig.system_prompt


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


def prepare_run_dir(args, name: str) -> Path:
    """The stage's checkpoint folder (``runs/mllm/<name>[_quick]`` unless ``--run-dir``); ``--fresh`` drops its checkpoint."""
    repo = Path(__file__).resolve().parents[1]
    run_dir = Path(args.run_dir or repo / "runs" / "mllm" / (f"{name}_quick" if args.quick else name))
    if args.fresh and (run_dir / "checkpoint.pt").exists():
        (run_dir / "checkpoint.pt").unlink()
    return run_dir


def setup_threads(cfg: TrainConfig) -> None:
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
