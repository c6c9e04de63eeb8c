"""What a search returns: the products found (:class:`Hit`, with what matched each) and the
filters it applied (:class:`SearchResult`); small helpers the search builds them with."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.catalog import Product
from retrieval.filters import ProductFilter
from retrieval.query_parser import ParsedQuery
from retrieval.store import StoredMatch


@dataclass(frozen=True)
class Hit:
    product: Product
    score: float
    signals: tuple[str, ...]  # what matched: "text", "image", "filter:base_colour=Red", "inferred:article_type=..."


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    parsed: ParsedQuery | None
    filter: ProductFilter  # the filter actually applied
    inferred: dict[str, str] = field(default_factory=dict)  # attributes read off the image


def then(first: list[Hit], more: list[Hit]) -> list[Hit]:
    """``first``, then those of ``more`` not among them."""
    seen = {h.product.id for h in first}
    return first + [h for h in more if h.product.id not in seen]


def filter_kwargs(f: ProductFilter) -> dict:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}


def filter_signals(f: ProductFilter) -> tuple[str, ...]:
    return tuple(f"filter:{part}" for part in f.describe().split(", ")) if not f.is_empty() else ()


def hits_of(matches: list[StoredMatch], signals: tuple[str, ...], exclude, k: int) -> list[Hit]:
    out = []
    for m in matches:
        if m.product.id in exclude:
            continue
        sig = signals if m.has_image or "image" not in signals else signals + ("image:text-stand-in",)
        out.append(Hit(m.product, round(m.similarity, 4), sig))
        if len(out) == k:
            break
    return out
