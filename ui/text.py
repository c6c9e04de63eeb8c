"""Text as the page shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator

_MD_SPECIAL = re.compile(r"([\\`*_$\[\]<>#~|])")


def md(text: str) -> str:
    """``text`` shown literally by st.markdown ("$40" is money, not LaTeX; "*" is not emphasis)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_stream(pieces: Iterator[str]) -> Iterator[str]:
    """:func:`md` over streamed pieces (each character is escaped on its own, so pieces can split anywhere)."""
    for piece in pieces:
        yield md(piece)
