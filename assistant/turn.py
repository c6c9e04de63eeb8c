"""The handle a caller gets for one turn: products now, words as they are written, then the
finished reply. The same handle serves search turns, questions, errors and pictures, and
none of its methods raise: a model or generator failure becomes a reply that says so.

>>> turn = session.start("black sneakers under 50")
>>> turn.preview()                 # the products, with facts-only explanations, at once
>>> for piece in turn.stream(): ...  # the reply text (the LLM's part checked sentence by sentence)
>>> reply = turn.finish()          # the Reply with the LLM's checked explanations
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Literal

from assistant.pipeline import Draft, make_picture, write_explanations, write_intro
from assistant.replies import Reply, ShownProduct
from assistant.shop import Shop

logger = logging.getLogger(__name__)


class TurnHandle:
    """One turn's answer. ``on_finish`` receives the final reply once (the session's history)."""

    def __init__(self, shop: Shop, draft: Draft, on_finish: Callable[[Reply], None]):
        self._shop = shop
        self._draft = draft
        self._on_finish = on_finish
        self._pieces: list[str] = []
        self._stream: Iterator[str] | None = None
        self._final: Reply | None = None
        self._failure: str | None = None

    @property
    def kind(self) -> Literal["search", "picture", "message"]:
        """"search": products and words to stream; "picture": one to make; "message": done."""
        if self._draft.picture is not None:
            return "picture"
        return "search" if self._draft.request is not None and self._draft.reply.products else "message"

    @property
    def preliminary(self) -> Reply:
        """The reply as it stands before the LLM writes (facts-only explanations)."""
        return self._draft.reply

    def preview(self) -> list[ShownProduct]:
        """The products to show at once (empty for a question, an error or a picture)."""
        return list(self._draft.reply.products)

    @property
    def products(self) -> list[ShownProduct]:
        return self.preview()

    def stream(self) -> Iterator[str]:
        """The reply text piece by piece (search turns; other turns stream nothing). Calling it
        again, or after :meth:`finish`, gives nothing more. A model failure ends the stream."""
        if self._stream is not None or self._final is not None or self.kind != "search":
            return iter(())
        self._stream = self._written()
        return self._stream

    def _written(self) -> Iterator[str]:
        try:
            for piece in write_intro(self._shop, self._draft):
                self._pieces.append(piece)
                yield piece
        except Exception as exc:  # the reply keeps the lead and what was checked so far
            logger.exception("writing the reply text failed")
            self._failure = str(exc) or type(exc).__name__

    def finish(self) -> Reply:
        """The finished reply (idempotent). Never raises."""
        if self._final is not None:
            return self._final
        try:
            reply = self._complete()
        except Exception as exc:
            logger.exception("the turn failed")
            reply = replace(self._draft.reply, failure=str(exc) or type(exc).__name__)
        self._final = reply
        self._on_finish(reply)
        return reply

    def _complete(self) -> Reply:
        kind = self.kind
        if kind == "picture":
            return make_picture(self._shop, self._draft)
        if kind == "message":
            return self._draft.reply
        if self._stream is None:
            for _ in self.stream():
                pass
        else:
            self._stream.close()  # a consumer that stopped early: its text so far is the reply text
        text = "".join(self._pieces).strip() or self._draft.reply.text
        try:
            products = write_explanations(self._shop, self._draft)
        except Exception as exc:  # the facts-only explanations stand
            logger.exception("writing the explanations failed")
            products, self._failure = self._draft.reply.products, str(exc) or type(exc).__name__
        return replace(self._draft.reply, text=text, products=products, failure=self._failure)
