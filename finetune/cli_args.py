"""Command-line flags of the training scripts (argparse only: no heavy imports,
so ``shopassist --help`` stays instant)."""

from __future__ import annotations

import argparse
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def add_run_args(parser: argparse.ArgumentParser, command: str, shipped: str | None) -> None:
    """``--name`` / ``--out`` (where the run writes: ``runs/<name>/``, default ``<command>-<timestamp>``)
    and, when something ships, ``--install`` (copy the result into ``shipped``; see finetune/runs.py)."""
    parser.add_argument("--name", default=None, help=f"run name: writes runs/NAME/ (default: {command}-<timestamp>)")
    parser.add_argument("--out", default=None, help="write the run to this folder instead of runs/NAME/")
    if shipped:
        parser.add_argument("--install", action="store_true",
                            help=f"then copy the run's final artefacts into {shipped} (replacing the shipped ones)")


def add_stage_args(parser: argparse.ArgumentParser, default_config: str, stage2: bool = False) -> None:
    parser.add_argument("--config", default=None if stage2 else str(CONFIG_DIR / default_config),
                        help=f"run config JSON (default: configs/{default_config}"
                             + ("; with --task request, configs/reader_default.json)" if stage2 else ")"))
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test run (configs/*_quick.json)")
    parser.add_argument("--catalog", default=None, help="catalog CSV/JSONL (default: the sample catalog)")
    add_run_args(parser, "train-lora" if stage2 else "train-projector", "adapters/weights/mllm")
    parser.add_argument("--run-dir", default=None, help="checkpoints and loss curve (default: the run folder; "
                                                        "the feature cache is its parent's cache/)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--max-steps", type=int, default=None, help="override the config's max_steps")
    parser.add_argument("--max-minutes", type=float, default=None, help="override the config's time budget")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint (no resume)")
    parser.add_argument("--tower-dir", default=None, help="catalog-tuned vision tower folder (default: the "
                                                          "shipped one, adapters/weights/tower; 'none': ImageNet)")
    if stage2:
        parser.add_argument("--init", default=None, help="stage-1 run folder (default: the newest stage-1 run in runs/); "
                                                         "with --task request, the adaptor folder whose trained "
                                                         "projector is kept (default: the shipped adapters/weights/mllm)")
        parser.add_argument("--task", choices=("instructions", "request"), default="instructions",
                            help="instructions: describe / compare / explain (the shipped adaptor, --install into "
                                 "adapters/weights/mllm); request: the request reader's JSON task, its own adaptor "
                                 "(--install into adapters/weights/reader)")


def add_tower_args(parser: argparse.ArgumentParser) -> None:
    """Flags of ``train-tower``."""
    parser.add_argument("--catalog", default=None, help="catalog CSV/JSONL (default: the sample catalog)")
    add_run_args(parser, "train-tower", "adapters/weights/tower")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N products (quick runs)")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch crossing this")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])


def tower_dir_from_args(args) -> str | None:
    """``--tower-dir``: a folder, "none" (ImageNet weights), or unset (the shipped tuned tower)."""
    from adapters.config import DEFAULT_TOWER_DIR

    value = getattr(args, "tower_dir", None)
    if value is None:
        return DEFAULT_TOWER_DIR
    return None if value.lower() == "none" else value
