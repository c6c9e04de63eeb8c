"""Scripted multi-turn conversations generated from the catalog, and what they measure.

Each conversation starts from a real product's facets ("black casual shoes for women") and
refines it over several turns ("cheaper", "in white", "for men", "under 40", "any colour",
"not black", "more expensive"). The expected constraints after every turn are computed here,
independently of :mod:`assistant.dialogue`, from the documented rules:

* a named facet replaces that facet; the others stay;
* "cheaper" caps the price just below the median price of the products shown last or the
  median price of the catalog's products under the filters in force, whichever is lower
  (median - 0.01), unless that cap leaves fewer than 5 of the catalog's products under the
  filters: then the higher; "more expensive" sets the minimum just above the higher;
* "any colour" removes the colour filter; "not X" excludes X.

Figures: constraint-tracking accuracy per turn (the filters in force equal the expected
ones), precision@5 of the shown products against the expected constraints, and, on a
subset run with the LLM, explanation faithfulness before and after the claim check and the
share of explanations naming an attribute the shopper asked for. Requests written to be
ambiguous measure how often the assistant asks instead of guessing.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from tqdm.auto import tqdm

from retrieval.catalog import Product
from retrieval.filters import ProductFilter, matches
from retrieval.stats import percentile

logger = logging.getLogger(__name__)

TARGETS = {"constraint_accuracy": 0.95, "precision_at_5": 0.8, "false_claim_rate_after": 0.0,
           "mentions_request_rate": 0.9}
# Requests that match many very different products, and specific ones that do not.
AMBIGUOUS = ["something for my dad", "a gift for my wife", "shoes", "something for him", "a present for my mum",
             "anything for women", "shoes for men", "a gift for my boyfriend", "accessories for her", "bags"]
SPECIFIC = ["black casual shoes for men", "red dresses", "blue jeans for women", "watches for men under 30",
            "white sports shoes", "green tshirts for men", "black handbags", "brown belts for men",
            "pink tops for women", "silver watches for women"]


@dataclass(frozen=True)
class ScriptedTurn:
    text: str
    kind: str  # "open" | "cheaper" | "pricier" | "max" | "min" | "colour" | "gender" | "any_colour" | "not_colour"


@dataclass
class Conversation:
    anchor: Product
    turns: list[ScriptedTurn] = field(default_factory=list)


def make_conversations(products: list[Product], n: int = 200, seed: int = 0, turns: tuple[int, int] = (3, 5)
                       ) -> list[Conversation]:
    """``n`` conversations anchored on real products, with only feasible refinements
    (a colour or gender asked for exists for that article type in the catalog)."""
    rng = random.Random(seed)
    by_type: dict[str, list[Product]] = {}
    for p in products:
        if p.article_type and p.base_colour and p.gender and p.price is not None:
            by_type.setdefault(p.article_type, []).append(p)
    types = [t for t, ps in by_type.items() if len(ps) >= 30]
    out = []
    while len(out) < n:
        t = rng.choice(types)
        anchor = rng.choice(by_type[t])
        conv = Conversation(anchor, [_opening(anchor, rng)])
        colours = sorted({p.base_colour for p in by_type[t] if p.gender == anchor.gender})
        genders = sorted({p.gender for p in by_type[t]} & {"Men", "Women"})
        for _ in range(rng.randint(*turns) - 1):
            conv.turns.append(_refinement(anchor, colours, genders, rng))
        out.append(conv)
    return out


def _opening(p: Product, rng: random.Random) -> ScriptedTurn:
    t = p.article_type.lower()
    c, g = p.base_colour.lower(), _gender_word(p.gender)
    templates = ["{c} {t} for {g}", "show me {c} {t}", "{t} for {g}", "i'm looking for {c} {t} for {g}", "{c} {t}"]
    if p.gender not in ("Men", "Women", "Boys", "Girls"):  # "unisex" is how the catalog files it, not how people ask
        templates = [t for t in templates if "{g}" not in t]
    template = rng.choice(templates)
    return ScriptedTurn(template.format(c=c, t=t, g=g), "open")


def _refinement(p: Product, colours: list[str], genders: list[str], rng: random.Random) -> ScriptedTurn:
    kind = rng.choice(["cheaper", "cheaper", "colour", "colour", "gender", "max", "any_colour", "not_colour", "pricier", "min"])
    if kind == "cheaper":
        return ScriptedTurn(rng.choice(["cheaper", "show me cheaper ones", "too expensive, cheaper please"]), kind)
    if kind == "pricier":
        return ScriptedTurn(rng.choice(["more expensive", "something more premium"]), kind)
    if kind == "colour" and colours:
        return ScriptedTurn(rng.choice(["in {c}", "what about {c}", "{c} ones"]).format(c=rng.choice(colours).lower()), kind)
    if kind == "gender" and genders:
        return ScriptedTurn(f"for {_gender_word(rng.choice(genders))}", kind)
    if kind == "max":
        return ScriptedTurn(f"under {rng.choice([20, 30, 40, 50, 60])}", kind)
    if kind == "min":
        return ScriptedTurn(f"over {rng.choice([10, 20, 30])}", kind)
    if kind == "not_colour" and colours:
        return ScriptedTurn(f"not {rng.choice(colours).lower()}", kind)
    return ScriptedTurn("any colour", "any_colour")


def _gender_word(g: str) -> str:
    return {"Men": "men", "Women": "women", "Boys": "boys", "Girls": "girls"}.get(g, "anyone")


# --- the expected constraints ----------------------------------------------------------
def expected_after(turn: ScriptedTurn, current: ProductFilter, shown_prices: list[float], vocab_colours,
                   anchor: Product, catalog: list[Product] = ()) -> ProductFilter:
    """What the filters in force must be after ``turn``: the documented rules, restated
    (``catalog``: the products the shop holds, for what those under ``current`` cost)."""
    words = turn.text.lower()
    colour_of = {c.lower(): c for c in vocab_colours}
    if turn.kind == "open":
        f = ProductFilter(article_types=(anchor.article_type,))
        if anchor.base_colour.lower() in words:
            f = replace(f, colours=(anchor.base_colour,))
        if f"for {_gender_word(anchor.gender)}" in words:
            f = replace(f, genders=(anchor.gender,))
        return f
    median = statistics.median(shown_prices) if shown_prices else None
    if turn.kind in ("cheaper", "pricier"):  # the catalog's median under the filters in force, beside the page's
        typical = [p.price for p in catalog if p.price is not None and matches(current, p)]
        medians = [m for m in (median, statistics.median(typical) if typical else None) if m is not None]
    if turn.kind == "cheaper" and median is not None:
        floor = sorted(typical)[min(5, len(typical)) - 1] if typical else None  # a page of 5 under the cap
        cap = next((m for m in sorted(medians) if floor is None or m - 0.01 >= floor), max(medians))
        f = replace(current, max_price=round(cap - 0.01, 2))
        return replace(f, min_price=None) if f.min_price is not None and f.min_price > f.max_price else f
    if turn.kind == "pricier" and median is not None:
        f = replace(current, min_price=round(max(medians) + 0.01, 2))
        return replace(f, max_price=None) if f.max_price is not None and f.max_price < f.min_price else f
    if turn.kind == "colour":
        name = next(c for w, c in sorted(colour_of.items(), key=lambda kv: -len(kv[0])) if w in words)
        return replace(current, colours=(name,), exclude_colours=tuple(c for c in current.exclude_colours if c != name))
    if turn.kind == "gender":
        return replace(current, genders=({"men": "Men", "women": "Women"}[words.split()[-1]],))
    if turn.kind == "max":
        return replace(current, max_price=float(words.split()[-1]))
    if turn.kind == "min":
        return replace(current, min_price=float(words.split()[-1]))
    if turn.kind == "any_colour":
        return replace(current, colours=(), exclude_colours=())
    if turn.kind == "not_colour":
        name = colour_of[words.removeprefix("not ").strip()]
        return replace(current, exclude_colours=(name,), colours=tuple(c for c in current.colours if c != name))
    return current


def same_filter(a: ProductFilter, b: ProductFilter) -> bool:
    def price_eq(x, y):
        return (x is None and y is None) or (x is not None and y is not None and abs(x - y) < 0.011)

    facets = ("colours", "article_types", "genders", "usages", "exclude_colours")
    return all(set(getattr(a, f)) == set(getattr(b, f)) for f in facets) and price_eq(a.min_price, b.min_price) \
        and price_eq(a.max_price, b.max_price)


# --- running -----------------------------------------------------------------------------
@dataclass
class ConversationFigures:
    conversations: int = 0
    turns: int = 0
    constraint_hits: int = 0
    precision_sum: float = 0.0
    precision_turns: int = 0
    relaxed_turns: int = 0
    clarified_turns: int = 0
    first_products_ms: list[float] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # the first few mismatches, for reading

    def to_dict(self) -> dict:
        return {
            "conversations": self.conversations, "turns": self.turns,
            "constraint_accuracy": self.constraint_hits / max(1, self.turns),
            "precision_at_5": self.precision_sum / max(1, self.precision_turns),
            "turns_with_products": self.precision_turns, "relaxed_turns": self.relaxed_turns,
            "clarification_turns": self.clarified_turns,
            "products_ms_p50": percentile(self.first_products_ms, 50),
            "products_ms_p95": percentile(self.first_products_ms, 95),
            "examples_of_mismatch": self.failures[:10],
        }


def run_conversations(assistant, conversations: list[Conversation], vocab_colours, progress: bool = True,
                      catalog: list[Product] = ()) -> dict:
    """Constraint tracking and precision@5 (explanations are facts-only here: fast);
    ``catalog``: the products in the assistant's store."""
    figs = ConversationFigures()
    for conv in tqdm(conversations, desc="conversations", disable=not progress):
        session = assistant.new_session()
        expected = ProductFilter()
        shown_prices: list[float] = []
        figs.conversations += 1
        for turn in conv.turns:
            expected = expected_after(turn, expected, shown_prices, vocab_colours, conv.anchor, catalog)
            t0 = time.perf_counter()
            pending = session.start(turn.text)
            figs.first_products_ms.append((time.perf_counter() - t0) * 1000)
            reply = pending.preliminary
            pending.finish()
            figs.turns += 1
            ok = same_filter(session.constraints.filter, expected)
            figs.constraint_hits += ok
            if not ok and len(figs.failures) < 10:
                figs.failures.append({"turn": turn.text, "expected": expected.describe(),
                                      "in_force": session.constraints.filter.describe()})
            if reply.clarification is not None:
                figs.clarified_turns += 1
            if reply.relaxation:
                figs.relaxed_turns += 1
            top = reply.products[:5]
            if top:
                figs.precision_sum += sum(matches(expected, s.product) for s in top) / len(top)
                figs.precision_turns += 1
                shown_prices = [s.product.price for s in reply.products if s.product.price is not None]
    return figs.to_dict()


def run_explanations(assistant, conversations: list[Conversation], progress: bool = True) -> dict:
    """Explanation faithfulness with the LLM writing: false-claim rate before/after the check,
    share naming an asked attribute (by the model alone, and as shown), and turn latency."""
    checker = assistant.explainer.checker
    n = raw_false = after_false = mentions_shown = mentions_llm = from_facts = 0
    products_s, text_s, full_s = [], [], []
    for conv in tqdm(conversations, desc="explained conversations", disable=not progress):
        session = assistant.new_session()
        for turn in conv.turns:
            t0 = time.perf_counter()
            pending = session.start(turn.text)
            t1 = time.perf_counter()
            for _ in pending.stream():
                pass
            t2 = time.perf_counter()
            reply = pending.finish()
            t3 = time.perf_counter()
            if not reply.products:
                continue
            products_s.append(t1 - t0)
            text_s.append(t2 - t0)
            full_s.append(t3 - t0)
            for s in reply.products:
                e = s.explanation
                n += 1
                raw_false += e.had_false_claim
                after_false += any(not c.supported for c in checker.claims(e.text, s.product))
                mentions_shown += e.mentions_request
                from_facts += e.source == "facts"
                mentions_llm += e.model_named_request
    return {
        "explanations": n,
        "false_claim_rate_before": raw_false / max(1, n),
        "false_claim_rate_after": after_false / max(1, n),
        "mentions_request_rate": mentions_shown / max(1, n),
        "mentions_request_rate_llm_alone": mentions_llm / max(1, n),
        "fell_back_to_facts": from_facts / max(1, n),
        **latency_figures(products_s, "products"), **latency_figures(text_s, "text"), **latency_figures(full_s, "full"),
    }


def latency_figures(xs: list[float], name: str) -> dict:
    """p50 and p95 of ``xs`` seconds, keyed "<name>_s_p50" and "<name>_s_p95" (nothing when empty)."""
    if not xs:
        return {}
    return {f"{name}_s_p50": percentile(xs, 50), f"{name}_s_p95": percentile(xs, 95)}


def run_clarification(assistant) -> dict:
    asked_ambiguous = sum(assistant.new_session().send(q).clarification is not None for q in AMBIGUOUS)
    asked_specific = sum(assistant.new_session().send(q).clarification is not None for q in SPECIFIC)
    return {"ambiguous_asked": asked_ambiguous / len(AMBIGUOUS), "specific_asked": asked_specific / len(SPECIFIC),
            "ambiguous": len(AMBIGUOUS), "specific": len(SPECIFIC)}


def kinds_of(conversations: list[Conversation]) -> dict[str, int]:
    return dict(Counter(t.kind for c in conversations for t in c.turns))


def plot_conversation_eval(result: dict, path) -> None:
    """Bar chart of the headline figures against their targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["headline"])
    values = [result["headline"][k] or 0.0 for k in names]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(range(len(names)), values, color="#4c72b0", label="measured")
    for i, k in enumerate(names):
        if k in result["targets"]:
            ax.hlines(result["targets"][k], i - 0.4, i + 0.4, colors="#c44e52", label="target" if i == 0 else None)
        ax.text(i, values[i] + 0.02, f"{values[i]:.3f}", ha="center")
    ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_title("conversation eval (scripted conversations, sample catalog)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
