"""What the assistant returns: dataclasses that serialise to JSON (``to_dict`` / ``to_json``)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass

from PIL import Image

from assistant.dialogue import Clarification
from assistant.explain import Explanation
from retrieval.catalog import Product

SYNTHETIC_PRICE_NOTE = "sample data: prices are synthetic"


@dataclass(frozen=True)
class ShownProduct:
    rank: int  # 1-based, as shown
    product: Product
    score: float
    explanation: Explanation
    signals: tuple[str, ...] = ()  # what matched in retrieval ("text", "image", "filter:...")


@dataclass(frozen=True)
class GeneratedPicture:
    """An image made for the shopper (try-on, in-room, imagined) and which backend made it."""

    message: str
    backend: str | None
    image: Image.Image | None = field(default=None, repr=False)
    product_id: str | None = None
    products: list["ShownProduct"] = field(default_factory=list)  # imagine: the closest real products

    def to_dict(self) -> dict:
        out = {"message": self.message, "backend": self.backend, "product_id": self.product_id, "image_png_base64": None,
               "products": [asdict(p) for p in self.products]}
        if self.image is not None:
            buf = io.BytesIO()
            self.image.save(buf, format="PNG")
            out["image_png_base64"] = base64.b64encode(buf.getvalue()).decode()
        return out


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
