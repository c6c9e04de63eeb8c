"""One search API over the store: text, image, or both ("like this, but in red").

* Text: the shopper's stated constraints become filters (see :mod:`retrieval.query_parser`);
  the rest is ranked by similarity of the query to the product text.
* Image: similarity of the image to product images in the aligned space.
* Composed (image + text): strategy ``"filtered"`` (the default) keeps what the image
  shows except what the text changes: the text's constraints become filters, the
  attributes the text leaves open (article type, gender) are read off the image's nearest
  catalog neighbours, and candidates are ranked by image similarity plus the text's
  aligned similarity. The baselines it is measured against are ``"image_only"``,
  ``"text_only"`` and ``"sum"`` (add the normalised image and text vectors).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from retrieval.catalog import Product
from retrieval.filters import ProductFilter, to_where
from retrieval.query_parser import ParsedQuery, QueryError, QueryParser, check_query_text
from retrieval.store import ProductStore, StoredMatch

logger = logging.getLogger(__name__)

ComposedStrategy = Literal["filtered", "sum", "image_only", "text_only"]
MAX_K = 100


@dataclass(frozen=True)
class Hit:
    product: Product
    score: float
    signals: tuple[str, ...]  # what matched: "text", "image", "filter:base_colour=Red", "inferred:article_type=..."


@dataclass(frozen=True)
class SearchConfig:
    composed_strategy: ComposedStrategy = "filtered"
    neighbours: int = 24  # image neighbours read to infer what the picture shows
    infer_min_share: float = 0.5  # an inferred attribute is used when this share of neighbours agree
    text_weight: float = 0.3  # weight of the text's aligned similarity in composed ranking

    def __post_init__(self) -> None:
        if self.neighbours < 1 or not 0 < self.infer_min_share <= 1 or self.text_weight < 0:
            raise ValueError("SearchConfig: neighbours >= 1, 0 < infer_min_share <= 1, text_weight >= 0")


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    parsed: ParsedQuery | None
    filter: ProductFilter  # the filter actually applied
    inferred: dict[str, str] = field(default_factory=dict)  # attributes read off the image


class ProductSearch:
    def __init__(self, store: ProductStore, embedder, parser: QueryParser, cfg: SearchConfig = SearchConfig()):
        self.store = store
        self.embedder = embedder
        self.parser = parser
        self.cfg = cfg

    def search(self, text: str | None = None, image: Image.Image | None = None,
               filters: ProductFilter | None = None, k: int = 10, exclude_ids: tuple[str, ...] = (),
               strategy: ComposedStrategy | None = None) -> list[Hit]:
        return self.run(text, image, filters, k, exclude_ids, strategy).hits

    def run(self, text: str | None = None, image: Image.Image | None = None,
            filters: ProductFilter | None = None, k: int = 10, exclude_ids: tuple[str, ...] = (),
            strategy: ComposedStrategy | None = None) -> SearchResult:
        """Like :meth:`search`, also returning the parsed query and the filters in force."""
        check_query_text(text)
        text = text.strip() if text else None
        if not text and image is None:
            raise QueryError("empty query: give some text, an image, or both")
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k={k} is out of range 1..{MAX_K}")
        parsed = self.parser.parse(text) if text else None
        base = filters or ProductFilter()
        if parsed:
            base = parsed.filter.merged(base)  # explicit filters win over parsed words
        fetch = k + len(exclude_ids)
        if image is None:
            return self._text(parsed, base, fetch, exclude_ids, k)
        strategy = strategy or self.cfg.composed_strategy
        if parsed is None or strategy == "image_only":
            return self._image(image, parsed, filters or ProductFilter(), fetch, exclude_ids, k)
        if strategy == "text_only":
            return self._text(parsed, base, fetch, exclude_ids, k)
        if strategy == "sum":
            return self._sum(image, parsed, filters or ProductFilter(), fetch, exclude_ids, k)
        return self._composed(image, parsed, base, fetch, exclude_ids, k)

    # --- the four routes -------------------------------------------------------------
    def _text(self, parsed: ParsedQuery, filt: ProductFilter, fetch, exclude, k) -> SearchResult:
        vec = self.embedder.embed_texts([parsed.semantic_text])[0]
        matches = self.store.query(vec, space="text", where=to_where(filt), k=fetch)
        signals = ("text",) + _filter_signals(filt)
        return SearchResult(_hits(matches, signals, exclude, k), parsed, filt)

    def _image(self, image, parsed, filt: ProductFilter, fetch, exclude, k) -> SearchResult:
        vec = self.embedder.embed_images([image])[0]
        matches = self.store.query(vec, space="image", where=to_where(filt), k=fetch)
        return SearchResult(_hits(matches, ("image",) + _filter_signals(filt), exclude, k), parsed, filt)

    def _sum(self, image, parsed: ParsedQuery, filt: ProductFilter, fetch, exclude, k) -> SearchResult:
        img = self.embedder.embed_images([image])[0]
        txt = self.embedder.embed_texts_shared([parsed.text])[0]
        vec = img + txt
        vec /= np.linalg.norm(vec) + 1e-8
        matches = self.store.query(vec, space="image", where=to_where(filt), k=fetch)
        return SearchResult(_hits(matches, ("image", "text"), exclude, k), parsed, filt)

    def _composed(self, image, parsed: ParsedQuery, filt: ProductFilter, fetch, exclude, k) -> SearchResult:
        img = self.embedder.embed_images([image])[0]
        txt = self.embedder.embed_texts_shared([parsed.semantic_text])[0]
        # What does the picture show? Read the attributes the text leaves open off its neighbours.
        neighbours = self.store.query(img, space="image", where=None, k=self.cfg.neighbours + len(exclude))
        neighbours = [m for m in neighbours if m.product.id not in exclude][: self.cfg.neighbours]
        inferred = self._infer(neighbours, filt)
        # Relax inferred attributes one by one (gender first) until enough candidates remain.
        attempts = [inferred, {k: v for k, v in inferred.items() if k != "genders"}, {}]
        for attempt in attempts:
            applied = ProductFilter(**{**_filter_kwargs(filt), **{f: (v,) for f, v in attempt.items()}})
            matches = self.store.query(img, space="image", where=to_where(applied), k=max(fetch * 3, 30))
            if len([m for m in matches if m.product.id not in exclude]) >= k or not attempt:
                break
        if matches:
            ids = [m.product.id for m in matches]
            vecs = self.store.get_vectors(ids, space="image")
            rescored = [
                (m, (1 - self.cfg.text_weight) * m.similarity + self.cfg.text_weight * float(vecs[m.product.id] @ txt))
                for m in matches
            ]
            rescored.sort(key=lambda t: -t[1])
            matches = [StoredMatch(m.product, s, m.has_image) for m, s in rescored]
        signals = ("image", "text") + _filter_signals(filt) + tuple(
            f"inferred:{_ATTR[f]}={v}" for f, v in attempt.items())
        return SearchResult(_hits(matches, signals, exclude, k), parsed, applied,
                            {_ATTR[f]: v for f, v in attempt.items()})

    def _infer(self, neighbours: list[StoredMatch], filt: ProductFilter) -> dict[str, str]:
        out: dict[str, str] = {}
        for field_name in ("article_types", "genders"):
            if getattr(filt, field_name) or not neighbours:
                continue  # the shopper said it: the text wins
            votes: dict[str, float] = defaultdict(float)
            for m in neighbours:
                value = getattr(m.product, _ATTR[field_name])
                if value:
                    votes[value] += max(m.similarity, 0.0)
            if votes:
                value, weight = max(votes.items(), key=lambda kv: kv[1])
                if weight / sum(votes.values()) >= self.cfg.infer_min_share:
                    out[field_name] = value
        return out


_ATTR = {"article_types": "article_type", "genders": "gender", "colours": "base_colour", "usages": "usage"}


def _filter_kwargs(f: ProductFilter) -> dict:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}


def _filter_signals(f: ProductFilter) -> tuple[str, ...]:
    return tuple(f"filter:{part}" for part in f.describe().split(", ")) if not f.is_empty() else ()


def _hits(matches: list[StoredMatch], signals: tuple[str, ...], exclude, k: int) -> list[Hit]:
    out = []
    for m in matches:
        if m.product.id in exclude:
            continue
        sig = signals if m.has_image or "image" not in signals else signals + ("image:text-stand-in",)
        out.append(Hit(m.product, round(m.similarity, 4), sig))
        if len(out) == k:
            break
    return out
