"""The environment every entry point runs in: no model hub, no telemetry, quiet loaders.

The embedded default needs no hub; without these every hub lookup retries for minutes. (The
hub's progress-bar switch also silences transformers' per-load "Loading weights" bar; the
project's own progress bars are plain tqdm and stay.) Entry points call
:func:`apply_offline_defaults` before they import a model library, because the hub reads
its switches when it is imported. A variable the caller set already wins. The Makefile
exports the same values for the commands it runs.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def apply_offline_defaults() -> None:
    """Set each of :data:`OFFLINE_ENV` in ``os.environ`` unless it is set already."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
