"""``shopassist``: one entry point, one subcommand module per area.

Each module in ``COMMAND_MODULES`` has ``register(subparsers)``; heavy imports happen
inside the command functions so ``shopassist --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

COMMAND_MODULES = [
    "assistant.cli.retrieval_cmds",
    "assistant.cli.mllm_cmds",
    "assistant.cli.eval_cmds",
    "assistant.cli.generate_cmds",
    "assistant.cli.ui_cmds",
    "assistant.cli.chat_cmds",
]


class UserError(Exception):
    """A problem the user can fix (bad path, bad input): printed without a traceback."""


def _offline_defaults() -> None:
    # The embedded default needs no hub; without these every lookup retries for minutes.
    # (The hub's progress-bar switch also silences transformers' per-load "Loading weights" bar;
    # the project's own progress bars are plain tqdm and stay.)
    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                       ("ANONYMIZED_TELEMETRY", "False"), ("TOKENIZERS_PARALLELISM", "false"),
                       ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(key, value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopassist", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _offline_defaults()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (UserError, OSError, ValueError) as exc:  # OSError: missing files, unreachable server
        if args.verbose:
            raise
        print(f"shopassist {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
