"""Filters as data: a :class:`ProductFilter` and the pure :func:`to_where` that turns it
into a Chroma ``where`` clause. :func:`matches` applies the same filter in Python (for
evaluation and for checking the store's answers)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from retrieval.catalog import Product

# filter field -> product attribute
FACET_FIELDS = {
    "colours": "base_colour",
    "article_types": "article_type",
    "genders": "gender",
    "usages": "usage",
    "master_categories": "master_category",
    "sub_categories": "sub_category",
}
# product attribute -> filter field
FILTER_FIELD_OF = {attr: name for name, attr in FACET_FIELDS.items()}


@dataclass(frozen=True)
class ProductFilter:
    """Each non-empty tuple means "one of these"; all given parts must hold."""

    colours: tuple[str, ...] = ()
    article_types: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    usages: tuple[str, ...] = ()
    master_categories: tuple[str, ...] = ()
    sub_categories: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    exclude_colours: tuple[str, ...] = ()  # "not black"
    exclude_usages: tuple[str, ...] = ()  # "not for sport"
    exclude_article_types: tuple[str, ...] = ()  # "sandals without heels"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        for bound in (self.min_price, self.max_price):
            if bound is not None and (bound != bound or bound < 0):
                raise ValueError(f"price bound {bound} must be a non-negative number")

    def is_empty(self) -> bool:
        return to_where(self) is None

    def merged(self, other: "ProductFilter") -> "ProductFilter":
        """``other``'s non-empty parts replace this filter's (a refinement of a request)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other)
                   if getattr(other, f.name) not in ((), None)}
        return replace(self, **changes)

    def describe(self) -> str:
        parts = [f"{attr}={'|'.join(getattr(self, name))}" for name, attr in FACET_FIELDS.items() if getattr(self, name)]
        if self.min_price is not None:
            parts.append(f"price>={self.min_price:g}")
        if self.max_price is not None:
            parts.append(f"price<={self.max_price:g}")
        for values, attr in ((self.exclude_colours, "base_colour"), (self.exclude_usages, "usage"),
                             (self.exclude_article_types, "article_type")):
            if values:
                parts.append(f"{attr} not {'|'.join(values)}")
        return ", ".join(parts) or "no filter"


def open_facets(soft: ProductFilter | None, stated: ProductFilter) -> ProductFilter | None:
    """Preferences ``soft`` without the facets ``stated`` already states, but for a preference
    among the stated values ("a darker red": red ones, the darker first)."""
    if soft is None:
        return None
    return replace(soft, **{f: () for f in ("colours", "article_types", "genders", "usages") if getattr(stated, f)
                            and getattr(soft, f) and not set(getattr(soft, f)) < set(getattr(stated, f))})


def to_where(f: ProductFilter) -> dict | None:
    """The Chroma ``where`` clause for ``f``; None when it filters nothing."""
    clauses: list[dict] = []
    for name, attr in FACET_FIELDS.items():
        values = getattr(f, name)
        if len(values) == 1:
            clauses.append({attr: values[0]})
        elif values:
            clauses.append({attr: {"$in": list(values)}})
    if f.min_price is not None:
        clauses.append({"price": {"$gte": float(f.min_price)}})
    if f.max_price is not None:
        clauses.append({"price": {"$lte": float(f.max_price)}})
    for values, attr in ((f.exclude_colours, "base_colour"), (f.exclude_usages, "usage"),
                         (f.exclude_article_types, "article_type")):
        if values:
            clauses.append({attr: {"$nin": list(values)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matches(f: ProductFilter, p: Product) -> bool:
    for name, attr in FACET_FIELDS.items():
        values = getattr(f, name)
        if values and getattr(p, attr) not in values:
            return False
    if f.min_price is not None and (p.price is None or p.price < f.min_price):
        return False
    if f.max_price is not None and (p.price is None or p.price > f.max_price):
        return False
    if f.exclude_colours and p.base_colour in f.exclude_colours:
        return False
    if f.exclude_usages and p.usage in f.exclude_usages:
        return False
    if f.exclude_article_types and p.article_type in f.exclude_article_types:
        return False
    return True
