"""A conversation's state, as data: what the shopper asked so far, what was shown, what the
picture of reference is, and the turns so far. The turn pipeline (:mod:`assistant.pipeline`)
maps one state to the next; :class:`assistant.session.Session` only holds it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from PIL import Image

from assistant.dialogue import Clarification, Constraints
from retrieval.catalog import Product
from retrieval.contrasts import singular_type


@dataclass(frozen=True)
class UserProfile:
    """A shopper's past: viewed and bought product ids. The sample catalog has no real
    users, so every history used in demos and evaluation is simulated (``simulated=True``)."""

    user_id: str
    viewed: tuple[str, ...] = ()
    bought: tuple[str, ...] = ()
    simulated: bool = False

    @property
    def history(self) -> tuple[str, ...]:
        return self.bought + self.viewed


@dataclass(frozen=True)
class Reference:
    """The picture a search should look like: the shopper's photo, a shown product's picture
    ("more like the second one"), or an imagined one."""

    kind: Literal["photo", "product", "imagined"]
    image: Image.Image = field(repr=False)
    product: Product | None = None  # kind == "product"

    @property
    def label(self) -> str:
        """How the explanations name it: "your photo", "the handbag you picked", "the imagined
        picture". Never the product's title: titles are free text the model is not shown (an
        instruction may hide in one), and their colour words would read as claims about the
        products that look like it ("a brown handbag ... looks like '... Pink Handbag'")."""
        if self.kind == "product" and self.product is not None:
            kind = singular_type(self.product.article_type.lower()) if self.product.article_type else "product"
            return f"the {kind} you picked"
        return "your photo" if self.kind == "photo" else "the imagined picture"


@dataclass(frozen=True)
class SessionState:
    """Everything a turn reads and writes. Frozen: a turn returns a new state."""

    constraints: Constraints = Constraints()
    reference: Reference | None = None
    focus: Product | None = None  # the product the conversation is about ("see it on me")
    shown: tuple[Product, ...] = ()
    liked: tuple[tuple[str, bool], ...] = ()  # (product id, liked) in the order given, one per id
    pending: Clarification | None = None  # the question asked last turn
    asked_this_subject: bool = False
    turn: int = 0

    def with_opinion(self, product_id: str, liked: bool) -> "SessionState":
        kept = tuple((pid, v) for pid, v in self.liked if pid != product_id)
        return replace(self, liked=kept + ((product_id, bool(liked)),))

    @property
    def liked_ids(self) -> list[str]:
        return [pid for pid, v in self.liked if v]

    @property
    def disliked_ids(self) -> list[str]:
        return [pid for pid, v in self.liked if not v]


@dataclass(frozen=True)
class Turn:
    """One finished turn, as the history keeps it."""

    number: int
    text: str | None
    had_image: bool
    reply_text: str
    shown_ids: tuple[str, ...]
    constraints: str
