"""What the assistant returns: dataclasses that serialise to JSON (``to_dict`` / ``to_json``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, is_dataclass

from assistant.dialogue import Clarification
from assistant.explain import Explanation
from assistant.imagine import GeneratedPicture
from retrieval.catalog import Product

SYNTHETIC_PRICE_NOTE = "sample data: prices are synthetic"
__all__ = ["GeneratedPicture", "Reply", "ShownProduct", "SYNTHETIC_PRICE_NOTE"]


@dataclass(frozen=True)
class ShownProduct:
    rank: int  # 1-based, as shown
    product: Product
    score: float
    explanation: Explanation
    signals: tuple[str, ...] = ()  # what matched in retrieval ("text", "image", "filter:...")


@dataclass(frozen=True)
class Reply:
    text: str
    products: list[ShownProduct]
    constraints: str  # the filters in force, readable ("base_colour=Black, price<=40")
    filter: dict  # the same, as the ProductFilter's fields
    turn: int
    clarification: Clarification | None = None
    relaxation: str | None = None  # "no red dresses under 20; showing under 30"
    picture: GeneratedPicture | None = None
    error: str | None = None  # what was wrong with the input (the session is unchanged)
    failure: str | None = None  # a model or generator failure while answering (the facts-only answer stands)
    price_note: str = SYNTHETIC_PRICE_NOTE

    def to_dict(self) -> dict:
        d = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "picture"}
        d["picture"] = self.picture.to_dict() if self.picture else None  # the image as base64 PNG
        return d

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), default=str, **kwargs)


def _plain(value):
    if is_dataclass(value):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
