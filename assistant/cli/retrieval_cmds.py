"""Subcommands: ingest, search, demo, eval retrieval, train-alignment."""

from __future__ import annotations


def register(sub) -> None:
    pass  # filled in below as the retrieval commands land
