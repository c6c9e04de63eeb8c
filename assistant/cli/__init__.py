"""``shopassist``: one entry point, one subcommand module per area.

Each module in ``COMMAND_MODULES`` has ``register(subparsers)``; heavy imports happen
inside the command functions so ``shopassist --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopassist", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from adapters.offline import apply_offline_defaults  # not assistant.settings (chromadb): `ui` starts at once

    apply_offline_defaults()
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
