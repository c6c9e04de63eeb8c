"""What the catalog stocks for whom, applied to a message's reading before the search: a word for a
kind it files only for others ("a top for my son") becomes the kinds it has for them, a new
subject keeps who the shopper buys for only where the catalog has such items for them, and another
kind with nobody named is first for whom the kind before was made ("tops", then "tees instead")."""

from __future__ import annotations

from dataclasses import replace

from assistant.dialogue import Interpretation
from assistant.shop import Shop
from retrieval.concepts import EVERYDAY_KINDS
from retrieval.filters import ProductFilter

SEX = {"Women": "female", "Girls": "female", "Men": "male", "Boys": "male"}
ONE_SEX_SHARE = 0.95  # of the kind's products filed for a sex (Unisex aside): tops 99%, not shirts 90%


def kinds_they_wear(shop: Shop, interp: Interpretation) -> Interpretation:
    """An everyday word for a kind the catalog has (almost) none of for whom it is for ("a top for my son", then
    "for her twin brother": Tops are filed for women and girls): the commonest kinds of its sub-category for them."""
    f = interp.constraints.filter
    if not f.genders or not set(f.article_types) & EVERYDAY_KINDS or sum(shop.facet_counts(
            ProductFilter(article_types=f.article_types, genders=f.genders), ("gender",))["gender"].values()) >= 5:
        return interp
    subs = tuple(shop.facet_counts(ProductFilter(article_types=f.article_types), ("sub_category",))["sub_category"])
    kinds = shop.facet_counts(ProductFilter(sub_categories=subs, genders=f.genders), ("article_type",))["article_type"]
    worn = tuple(k for k, _ in sorted(kinds.items(), key=lambda kv: -kv[1])[:2]) if subs else ()
    if not worn:
        return interp
    note = f"{' or '.join(f.article_types).lower()} are not made for {' or '.join(f.genders).lower()}: " \
           f"here are {' and '.join(worn).lower()}"
    return replace(interp, constraints=replace(interp.constraints, filter=replace(f, article_types=worn)),
                   notes=interp.notes + (note,))


def keep_gender_if_stocked(shop: Shop, interp: Interpretation) -> Interpretation:
    """A new subject keeps who the shopper buys for, unless the catalog has no such item
    for them ("watches for men", then "red dresses"): then that gender is dropped."""
    f = interp.constraints.filter
    stated = interp.parsed is not None and bool(interp.parsed.filter.genders)
    if stated or not f.genders or not f.article_types:
        return interp
    counts = shop.facet_counts(ProductFilter(article_types=f.article_types), ("gender",))["gender"]
    if any(counts.get(g) for g in f.genders) or not counts:
        return interp
    return replace(interp, constraints=replace(interp.constraints, filter=replace(f, genders=())))


def whom_the_kind_was_for(shop: Shop, interp: Interpretation, before: ProductFilter) -> Interpretation:
    """Another kind with nobody named ("cute tops", then "tees instead"): when the catalog files the kinds
    in force before almost only for one sex (tops: women and a few girls), the new kind is theirs first,
    a preference (her tees before his), where the catalog has that kind for them."""
    f, soft = interp.constraints.filter, interp.constraints.soft
    if f.genders or soft.genders or not before.article_types or not f.article_types \
            or set(f.article_types) <= set(before.article_types) or before.genders:
        return interp
    counts = {g: n for g, n in shop.facet_counts(ProductFilter(article_types=before.article_types),
                                                   ("gender",))["gender"].items() if g in SEX}
    if not counts:
        return interp
    top = max(counts, key=counts.get)
    if sum(n for g, n in counts.items() if SEX[g] == SEX[top]) < ONE_SEX_SHARE * sum(counts.values()):
        return interp
    if sum(shop.facet_counts(replace(f, genders=(top,)), ("gender",))["gender"].values()) < 5:
        return interp
    return replace(interp, constraints=replace(interp.constraints, soft=replace(soft, genders=(top,))))
