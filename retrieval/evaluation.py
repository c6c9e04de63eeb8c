"""Retrieval evaluation on a held-out slice of a catalog, with queries derived from metadata.

Precision@10 is counted out of ``min(10, number of relevant products)``, so a query with
only 4 relevant products can still score 1.0.

* text: "red dresses for women under 40"-style queries built from a test product's
  attributes; relevant = every product matching all stated attributes.
* image: a test product's photo; relevant = same article type and colour (itself excluded).
* composed: a test product's photo + "in <colour>" for a colour it is not in; relevant =
  same article type and gender as the reference, in the requested colour. Every composed
  strategy is scored on the same queries.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from retrieval.catalog import Product, split_of
from retrieval.filters import ProductFilter, matches
from retrieval.query_parser import _singular
from retrieval.stats import percentile

logger = logging.getLogger(__name__)

TARGETS = {"text_P@10": 0.85, "image_P@10": 0.6, "composed_Hit@10": 0.95, "composed_P@10": 0.8}
GENDER_PHRASES = {"Men": ["for men", "men's", "for him"], "Women": ["for women", "women's", "for her"],
                  "Boys": ["for boys", "boys'"], "Girls": ["for girls", "girls'"], "Unisex": ["unisex"]}
COMPOSED_TEMPLATES = ["like this but in {c}", "in {c}", "same style in {c}", "do you have this in {c}?"]


@dataclass(frozen=True)
class EvalQuery:
    kind: str
    text: str | None
    image_of: Product | None
    relevant: frozenset[str]
    exclude: tuple[str, ...] = ()


@dataclass
class Scores:
    precision: list[float] = field(default_factory=list)
    hit: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        return {"queries": len(self.precision), "P@10": _mean(self.precision), "Hit@10": _mean(self.hit),
                "latency_ms_p50": percentile(self.latency_ms, 50, 2),
                "latency_ms_p95": percentile(self.latency_ms, 95, 2)}


def _mean(xs):
    return round(sum(xs) / len(xs), 4) if xs else None


def precision_at(ranked: list[str], relevant: frozenset[str], k: int = 10) -> float:
    if not relevant:
        raise ValueError("precision_at: a query needs at least one relevant product")
    return sum(1 for pid in ranked[:k] if pid in relevant) / min(k, len(relevant))


def _type_phrase(article_type: str, rng: random.Random) -> str:
    name = article_type.lower()
    words = name.split()
    singular = " ".join(words[:-1] + [_singular(words[-1])])
    return rng.choice([name, singular])


def text_queries(products: list[Product], test: list[Product], n: int, rng: random.Random) -> list[EvalQuery]:
    out = []
    for p in rng.sample(test, min(n, len(test))):
        if not p.article_type:
            continue
        f = {"article_types": (p.article_type,)}
        parts = [_type_phrase(p.article_type, rng)]
        if p.base_colour and rng.random() < 0.7:
            f["colours"] = (p.base_colour,)
            parts.insert(0, p.base_colour.lower())
        if p.gender and rng.random() < 0.6:
            f["genders"] = (p.gender,)
            phrase = rng.choice(GENDER_PHRASES.get(p.gender, [p.gender.lower()]))
            parts = [phrase] + parts if phrase.endswith("'s") or phrase.endswith("s'") else parts + [phrase]
        if p.price is not None and rng.random() < 0.5:
            bound = math.ceil(p.price * rng.uniform(1.05, 1.6))
            f["max_price"] = float(bound)
            parts.append(rng.choice([f"under {bound}", f"below ${bound}", f"less than {bound} dollars"]))
        text = rng.choice(["{q}", "show me {q}", "i'm looking for {q}", "any {q}?"]).format(q=" ".join(parts))
        filt = ProductFilter(**f)
        relevant = frozenset(x.id for x in products if matches(filt, x))
        out.append(EvalQuery("text", text, None, relevant))
    return out


def image_queries(products: list[Product], test: list[Product], n: int, rng: random.Random) -> list[EvalQuery]:
    out = []
    for p in rng.sample(test, len(test)):
        if len(out) >= n:
            break
        if not p.image:
            continue
        relevant = frozenset(x.id for x in products if x.id != p.id and x.article_type == p.article_type
                             and x.base_colour == p.base_colour)
        if relevant:
            out.append(EvalQuery("image", None, p, relevant, (p.id,)))
    return out


def composed_queries(products: list[Product], test: list[Product], n: int, rng: random.Random) -> list[EvalQuery]:
    colours_for = {}
    for x in products:
        colours_for.setdefault((x.article_type, x.gender), Counter())[x.base_colour] += 1
    out = []
    for p in rng.sample(test, len(test)):
        if len(out) >= n:
            break
        options = [c for c in colours_for.get((p.article_type, p.gender), {}) if c and c != p.base_colour]
        if not p.image or not options:
            continue
        colour = rng.choice(options)
        relevant = frozenset(x.id for x in products if x.id != p.id and x.article_type == p.article_type
                             and x.gender == p.gender and x.base_colour == colour)
        text = rng.choice(COMPOSED_TEMPLATES).format(c=colour.lower())
        out.append(EvalQuery("composed", text, p, relevant, (p.id,)))
    return out


SearchFn = Callable[..., list]  # (text, image, k, exclude_ids, strategy) -> list of hits with .product.id


def evaluate(products: list[Product], search: SearchFn, load_image: Callable, *, n: int = 300,
             seed: int = 0, strategies=("filtered", "sum", "image_only", "text_only"),
             split: str = "test", suites_to_run=("text", "image", "composed")) -> dict:
    """Score ``search`` on queries from the ``split`` slice ("val" for tuning, "test" to report)."""
    rng = random.Random(seed)
    test = [p for p in products if split_of(p.id) == split]
    if not test:
        raise ValueError(f"the catalog has no products in the held-out {split!r} split")
    makers = {"text": text_queries, "image": image_queries, "composed": composed_queries}
    suites = {name: makers[name](products, test, n, rng) for name in suites_to_run}
    results: dict[str, dict] = {}
    images: dict[str, object] = {}
    for kind, queries in suites.items():
        runs = strategies if kind == "composed" else ("default",)
        for strategy in runs:
            scores = Scores()
            for q in tqdm(queries, desc=f"eval {kind}/{strategy}", unit="query"):
                image = None
                if q.image_of is not None:
                    image = images.get(q.image_of.id) or images.setdefault(q.image_of.id, load_image(q.image_of.image))
                t0 = time.perf_counter()
                hits = search(text=q.text, image=image, k=10, exclude_ids=q.exclude,
                              strategy=None if strategy == "default" else strategy)
                scores.latency_ms.append((time.perf_counter() - t0) * 1000)
                ranked = [h.product.id for h in hits]
                scores.precision.append(precision_at(ranked, q.relevant))
                scores.hit.append(float(any(pid in q.relevant for pid in ranked[:10])))
            results[kind if strategy == "default" else f"composed/{strategy}"] = scores.summary()
    headline = {
        "text_P@10": results["text"]["P@10"] if "text" in results else None,
        "image_P@10": results["image"]["P@10"] if "image" in results else None,
        "composed_Hit@10": results["composed/filtered"]["Hit@10"] if "composed/filtered" in results else None,
        "composed_P@10": results["composed/filtered"]["P@10"] if "composed/filtered" in results else None,
    }
    return {"catalog_products": len(products), "test_products": len(test), "split": split, "queries_per_suite": n,
            "seed": seed, "headline": headline, "targets": TARGETS,
            "meets_targets": {k: (v is not None and v >= TARGETS[k]) for k, v in headline.items()},
            "suites": results, "examples": {k: [q.text for q in v[:5]] for k, v in suites.items()}}


def plot_results(result: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = result["suites"]
    names = list(suites)
    fig, ax = plt.subplots(figsize=(9, 4))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [suites[n]["P@10"] or 0 for n in names], width=0.4, label="P@10")
    ax.bar([x + 0.2 for x in xs], [suites[n]["Hit@10"] or 0 for n in names], width=0.4, label="Hit@10")
    ax.set_xticks(list(xs), names, rotation=20)
    ax.set_ylim(0, 1.05)
    for key, target in TARGETS.items():
        ax.axhline(target, ls=":", lw=0.8, color="grey")
    ax.set_title(f"retrieval eval ({result['queries_per_suite']} queries/suite, held-out test split)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

