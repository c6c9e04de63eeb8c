"""Where training runs write: ``runs/<name>/``, never the shipped ``adapters/weights/``.

Every ``shopassist train-*`` command writes its artefacts to a run folder (``--out DIR``, or
``runs/<name>`` with ``--name``, default ``<command>-<timestamp>``). ``--install`` then copies
the run's final artefacts (weights, config, training record, curves; never checkpoints or
caches) into the shipped folder, and says so: a shipped weight changes only when asked.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS_DIR = REPO / "runs"


def run_name(command: str) -> str:
    """``train-tower-20250101-120000``: the default name of a run of ``command``."""
    return f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_folder(command: str, name: str | None = None, out: str | Path | None = None) -> Path:
    """The folder a run writes: ``out`` if given, else ``runs/<name or command-timestamp>``."""
    if out:
        return Path(out)
    return RUNS_DIR / (name or run_name(command))


def install(run_dir: str | Path, dest: str | Path, names: Sequence[str]) -> list[Path]:
    """Copy ``names`` (files or folders) from ``run_dir`` into ``dest``, replacing what is there."""
    src, dest = Path(run_dir).resolve(), Path(dest).resolve()
    if src == dest:
        return []
    missing = [n for n in names if not (src / n).exists()]
    if missing:
        raise FileNotFoundError(f"{src}: the run did not write {missing}; nothing installed")
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for n in names:
        target = dest / n
        if (src / n).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(src / n, target)
        else:
            shutil.copy2(src / n, target)
        copied.append(target)
    return copied


def install_and_report(run_dir: Path, dest: str | Path, names: Sequence[str], note: str = "") -> None:
    """:func:`install`, then one line saying what changed in the shipped folder."""
    copied = install(run_dir, dest, names)
    if copied:
        shown = Path(dest).resolve()
        shown = shown.relative_to(REPO) if shown.is_relative_to(REPO) else shown
        print(f"installed {', '.join(p.name for p in copied)} from {run_dir} into {shown}/" + (f"; {note}" if note else ""))


def latest_run(stage: str, manifest: str = "mllm_adapter.json") -> Path | None:
    """The newest run folder under ``runs/`` whose ``manifest`` names ``stage`` (e.g. stage 1 for train-lora)."""
    found = []
    for path in RUNS_DIR.glob(f"*/{manifest}"):
        try:
            if json.loads(path.read_text()).get("stage") == stage:
                found.append(path)
        except (OSError, ValueError):
            continue
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None
