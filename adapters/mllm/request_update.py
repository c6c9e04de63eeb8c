"""The request reader's typed output: what one shopper message asks for, in the catalog's values.

The LLM writes it as JSON under a grammar made from :func:`update_schema` (every facet value
an ``enum`` of the catalog's own values), and :func:`parse_update` reads it back through a
pydantic model built from the same slots, so a value the catalog lacks can neither be
written nor accepted. Like :mod:`adapters.output.request` for pictures: a frozen dataclass
out, ``None`` for anything unusable. ``values`` is the catalog's vocabulary as plain lists
(``Vocabulary.to_dict()``): this module knows no store.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

logger = logging.getLogger(__name__)

FACETS = ("article_types", "colours", "genders", "usages")
EXCLUDED = {"exclude_colours": "colours", "exclude_article_types": "article_types", "exclude_usages": "usages"}
COLOUR_MOVES = ("darker", "lighter", "brighter", "muted", "pastel", "deeper")
PRICE_MOVES = ("lower", "higher")
MAX_VALUES = 6  # values per slot ("bags" names five kinds)
MAX_PRICE = 100000


@dataclass(frozen=True)
class RequestUpdate:
    """The slots one message fills; empty slots say nothing (the request in force keeps them)."""

    article_types: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    usages: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    exclude_colours: tuple[str, ...] = ()
    exclude_article_types: tuple[str, ...] = ()
    exclude_usages: tuple[str, ...] = ()
    cheapest_first: bool = False
    colour_move: str | None = None  # one of COLOUR_MOVES: "darker", "pastel", ...
    price_move: str | None = None  # "lower" ("cheaper"), "higher"
    goes_with: bool = False  # something to wear with the item in the photo

    def is_empty(self) -> bool:
        return self == RequestUpdate()

    def to_json(self) -> str:
        """The filled slots only, compact, in the schema's order (the training targets' form)."""
        out = {}
        for name, value in asdict(self).items():
            if value in ((), [], None, False):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out[name] = list(value) if isinstance(value, (tuple, list)) else value
        return json.dumps(out, separators=(",", ":"))


SLOTS = tuple(f.name for f in fields(RequestUpdate))


def _key(values: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((facet, tuple(values.get(facet, ()))) for facet in FACETS)


@functools.lru_cache(maxsize=8)
def _model(key) -> type[BaseModel]:
    vocab = dict(key)
    missing = [f for f in FACETS if not vocab[f]]
    if missing:
        raise ValueError(f"the catalog vocabulary has no values for {', '.join(missing)}")

    def values_of(facet: str):
        return (list[Literal[vocab[facet]]], Field(default_factory=list, max_length=MAX_VALUES))

    price = (float | None, Field(None, ge=0, le=MAX_PRICE))
    slots = {facet: values_of(facet) for facet in FACETS}
    slots.update(min_price=price, max_price=price)
    slots.update({name: values_of(facet) for name, facet in EXCLUDED.items()})
    slots.update(cheapest_first=(bool, False), colour_move=(Literal[COLOUR_MOVES] | None, None),
                 price_move=(Literal[PRICE_MOVES] | None, None), goes_with=(bool, False))
    assert tuple(slots) == SLOTS, "the pydantic slots must follow RequestUpdate"
    return create_model("RequestUpdateModel", __config__=ConfigDict(extra="forbid"), **slots)


def update_model(values: Mapping[str, Sequence[str]]) -> type[BaseModel]:
    """The pydantic model of an update over this catalog (cached per vocabulary)."""
    return _model(_key(values))


def update_schema(values: Mapping[str, Sequence[str]]) -> dict:
    """The JSON schema the grammar is made from: every slot optional, in :data:`SLOTS` order,
    facet values only the catalog's; no titles or defaults (they are no part of the grammar)."""
    return _compact(update_model(values).model_json_schema())


def _compact(node):
    """Drops titles and defaults; ``anyOf [X, null]`` becomes X (an absent slot says "nothing")."""
    if isinstance(node, list):
        return [_compact(n) for n in node]
    if not isinstance(node, dict):
        return node
    options = node.get("anyOf")
    if options and {"type": "null"} in options and len(options) == 2:
        return _compact(next(o for o in options if o != {"type": "null"}))
    return {k: _compact(v) for k, v in node.items() if k not in ("title", "default")}


def parse_update(text: str | None, values: Mapping[str, Sequence[str]]) -> RequestUpdate | None:
    """The update ``text`` (the LLM's JSON) holds, or None when it is not JSON of the schema
    (cut short, a value the catalog lacks, an unknown slot); the caller keeps its own reading."""
    if not text or not text.strip():
        return None
    try:
        model = update_model(values).model_validate_json(text.strip())
    except ValidationError as exc:
        logger.info("request update not usable (%s): %.200s", exc.errors()[0].get("msg"), text)
        return None
    data = model.model_dump()
    update = RequestUpdate(**{k: tuple(dict.fromkeys(v)) if isinstance(v, list) else v for k, v in data.items()})
    if update.min_price is not None and update.max_price is not None and update.min_price > update.max_price:
        update = replace(update, min_price=update.max_price, max_price=update.min_price)
    return update
