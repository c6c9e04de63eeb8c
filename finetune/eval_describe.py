"""``eval describe``: on held-out ("test" split) catalog images, ask the model to describe
the product and score, automatically, whether the answer names the true colour and the
true article type (synonym tables below). Also reports how often a *wrong* catalog colour
is named, so an answer listing every colour cannot score well, and guards both scores: an
answer naming ``MANY_LABELS`` or more other article types (or other colour groups) scores
0 on that attribute (a fixed answer listing the 30 commonest types scored 0.85 on type
without the guard). Colour is scored strictly (the catalog's 46 names) and grouped
(``COLOUR_GROUPS``: Navy Blue counts as Blue, Maroon as Red).

Run: ``python -m finetune.eval_describe [--catalog CSV] [--json OUT] [--limit N]``
(``shopassist eval describe`` is the same command).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from adapters.offline import apply_offline_defaults
from retrieval.catalog import Product, split_of
from retrieval.vocabulary import DESCRIPTION_COLOUR_WORDS, DESCRIPTION_TYPE_WORDS

logger = logging.getLogger(__name__)

DEFAULT_QUESTION = "Describe this product."
MANY_LABELS = 2  # naming this many labels besides the true one is a list, not an answer
# About ten groups of the catalog's colour names, as published colour heads group them.
COLOUR_GROUPS = {
    "black": ("Black", "Charcoal"), "white": ("White", "Off White", "Cream"),
    "grey": ("Grey", "Grey Melange", "Silver", "Steel", "Metallic"),
    "blue": ("Blue", "Navy Blue", "Teal", "Turquoise Blue"),
    "red": ("Red", "Maroon", "Burgundy", "Rust"), "pink": ("Pink", "Magenta", "Peach", "Rose"),
    "purple": ("Purple", "Lavender", "Mauve"), "green": ("Green", "Olive", "Sea Green", "Lime Green"),
    "yellow": ("Yellow", "Mustard", "Gold", "Orange"),
    "brown": ("Brown", "Coffee Brown", "Mushroom Brown", "Tan", "Khaki", "Beige", "Skin", "Nude", "Bronze", "Copper"),
    "multi": ("Multi",),
}
GROUP_OF = {c.lower(): g for g, cs in COLOUR_GROUPS.items() for c in cs}

def _norm(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower().replace("-", " ")).strip() + " "


def _variants(word: str) -> set[str]:
    w = word.lower().strip()
    out = {w}
    if w.endswith("es"):
        out |= {w[:-2], w[:-1]}
    elif w.endswith("s"):
        out.add(w[:-1])
    else:
        out |= {w + "s", w + "es"}
    return out


def colour_terms(colour: str) -> set[str]:
    c = colour.lower()
    return {_norm(t).strip() for t in (c, *DESCRIPTION_COLOUR_WORDS.get(c, ()))}


def type_terms(article_type: str) -> set[str]:
    t = article_type.lower()
    terms = set()
    for w in (t, *DESCRIPTION_TYPE_WORDS.get(t, ())):
        terms |= _variants(w)
    return {_norm(x).strip() for x in terms}


def names_any(text: str, terms: set[str]) -> bool:
    hay = _norm(text)
    return any(f" {t} " in hay for t in terms if t)


def names_wrong_colour(text: str, colour: str, all_colours: Sequence[str]) -> bool:
    """True when a catalog colour other than ``colour`` (and not one of its synonyms) is named."""
    ok = colour_terms(colour)
    hay = _norm(text)
    for other in all_colours:
        if other.lower() == colour.lower():
            continue
        for term in colour_terms(other) - ok:
            if f" {term} " in hay and not any(term in o and f" {o} " in hay for o in ok):
                return True
    return False


def named_labels(text: str, labels: Sequence[str], terms) -> set[str]:
    """The labels whose words ``text`` names; a label whose words sit inside another named
    label's ("shirts" in "t shirts", "blue" in "navy blue") is not counted twice."""
    hay = _norm(text)
    found = {lab: {t for t in terms(lab) if t and f" {t} " in hay} for lab in labels}
    found = {lab: ts for lab, ts in found.items() if ts}
    def inside(lab):
        return any(other != lab and all(any(t in o for o in found[other]) for t in ts)
                   for other in found for ts in [found[lab]] if found[other] - ts)
    return {lab for lab in found if not inside(lab)}


def other_groups(text: str, colour: str, all_colours: Sequence[str]) -> set[str]:
    """Colour groups named by ``text`` other than ``colour``'s group."""
    mine = GROUP_OF.get(colour.lower(), colour.lower())
    return {GROUP_OF.get(c.lower(), c.lower()) for c in named_labels(text, all_colours, colour_terms)} - {mine}


def names_group(text: str, colour: str, all_colours: Sequence[str]) -> bool:
    """Names a colour of ``colour``'s group (Navy Blue answered "blue" counts)."""
    mine = GROUP_OF.get(colour.lower(), colour.lower())
    return names_any(text, colour_terms(colour)) or any(
        GROUP_OF.get(c.lower(), c.lower()) == mine for c in named_labels(text, all_colours, colour_terms))


@dataclass
class DescribeScore:
    name: str
    n: int
    colour_acc: float
    type_acc: float
    both_acc: float
    wrong_colour_rate: float
    seconds: float
    examples: list[dict] = field(default_factory=list)
    grouped_colour_acc: float = 0.0  # colour named within its group (about ten groups)
    type_acc_unguarded: float = 0.0  # without the many-labels guard, for comparison
    colour_acc_unguarded: float = 0.0
    many_label_rate: float = 0.0  # answers that list MANY_LABELS+ other types or colour groups


def score_answers(name: str, products: Sequence[Product], answers: Sequence[str], all_colours: Sequence[str],
                  seconds: float = 0.0, keep: int = 12, all_types: Sequence[str] = ()) -> DescribeScore:
    """Strict and grouped colour, type, both; an answer listing ``MANY_LABELS`` or more other
    types (``all_types``) or colour groups scores 0 on that attribute."""
    tally = dict.fromkeys(("c", "t", "both", "wrong", "grouped", "t_raw", "c_raw", "many"), 0)
    examples = []
    for p, a in zip(products, answers, strict=True):
        many_t = len(named_labels(a, all_types, type_terms) - {p.article_type}) >= MANY_LABELS if all_types else False
        many_c = len(other_groups(a, p.base_colour, all_colours)) >= MANY_LABELS
        raw_c, raw_t = names_any(a, colour_terms(p.base_colour)), names_any(a, type_terms(p.article_type))
        hit_c, hit_t = raw_c and not many_c, raw_t and not many_t
        step = {"c": hit_c, "t": hit_t, "both": hit_c and hit_t, "wrong": names_wrong_colour(a, p.base_colour, all_colours),
                "grouped": names_group(a, p.base_colour, all_colours) and not many_c, "t_raw": raw_t, "c_raw": raw_c,
                "many": many_t or many_c}
        tally = {k: v + bool(step[k]) for k, v in tally.items()}
        if len(examples) < keep:
            examples.append({"id": p.id, "colour": p.base_colour, "type": p.article_type, "answer": a,
                             "colour_ok": hit_c, "type_ok": hit_t})
    n = max(1, len(products))
    r = {k: round(v / n, 4) for k, v in tally.items()}
    return DescribeScore(name, len(products), r["c"], r["t"], r["both"], r["wrong"], round(seconds, 1), examples,
                         grouped_colour_acc=r["grouped"], type_acc_unguarded=r["t_raw"], colour_acc_unguarded=r["c_raw"],
                         many_label_rate=r["many"])


def held_out_products(products: Sequence[Product], limit: int | None, seed: int = 0) -> list[Product]:
    """Held-out products with an image, colour and type; a seeded sample of ``limit``."""
    held = [p for p in products if split_of(p.id) == "test" and p.image and p.base_colour and p.article_type]
    random.Random(seed).shuffle(held)
    return held[:limit] if limit else held


def describe_all(runner, products: Sequence[Product], question: str, max_new_tokens: int, batch_size: int,
                 progress: bool = True) -> list[str]:
    from tqdm.auto import tqdm

    from adapters.mllm.runner import ChatMessage

    answers: list[str] = []
    for s in tqdm(range(0, len(products), batch_size), desc="describe", unit="batch", disable=not progress):
        convs = [[ChatMessage("user", question, image=p.image)] for p in products[s:s + batch_size]]
        answers += runner.generate_batch(convs, max_new_tokens=max_new_tokens)
    return answers


def evaluate_model(name: str, runner, products: Sequence[Product], all_colours: Sequence[str],
                   question: str = DEFAULT_QUESTION, max_new_tokens: int = 32, batch_size: int = 16,
                   all_types: Sequence[str] = ()) -> DescribeScore:
    start = time.monotonic()
    answers = describe_all(runner, products, question, max_new_tokens, batch_size)
    return score_answers(name, products, answers, all_colours, time.monotonic() - start, all_types=all_types)


def run(catalog_path, models: dict[str, object], limit: int | None, question: str = DEFAULT_QUESTION,
        max_new_tokens: int = 32, batch_size: int = 16, device: str = "auto") -> dict:
    """Evaluate each named ``MLLMConfig`` adapter setting in turn; returns the JSON report."""
    from adapters.loading.mllm import load_runner
    from retrieval.catalog import read_catalog

    catalog = read_catalog(catalog_path)
    products = held_out_products(catalog.products, limit)
    if not products:
        raise ValueError(f"{catalog_path}: no test-split products with an image, colour and article type")
    colours = catalog.facet_values("base_colour")
    types = catalog.facet_values("article_type")
    results = {}
    for name, cfg in models.items():
        logger.info("evaluating %s on %d products", name, len(products))
        start = time.monotonic()
        runner = load_runner(cfg)
        load_s = time.monotonic() - start
        score = evaluate_model(name, runner, products, colours, question, max_new_tokens, batch_size, types)
        results[name] = {**asdict(score), "stage": runner.loaded.stage, "adapter_path": cfg.adapter_path,
                         "backend": runner.backend, "load_seconds": round(load_s, 1)}
        del runner
    return {"catalog": str(catalog.path), "split": "test", "n": len(products), "question": question,
            "max_new_tokens": max_new_tokens, "results": results}


def evaluate_describe_image(products: Sequence[Product], all_colours: Sequence[str], all_types: Sequence[str],
                            question: str = DEFAULT_QUESTION) -> dict[str, DescribeScore] | None:
    """What ``Assistant.describe_image`` answers (the settings' MLLM, its words checked against
    the picture's reading), and the reading alone in words, as a baseline. None without the
    tuned tower's heads: the reading would then be the vote of the picture's nearest catalog
    products, and a test product's nearest is itself (the store holds every split)."""
    from tqdm.auto import tqdm

    from assistant.services import load_assistant
    from assistant.settings import Settings

    shop = load_assistant(Settings(recognise_pictures=False), llm=True, generator=False)  # read, not looked up
    if getattr(shop.search_engine.embedder.image_encoder, "heads", None) is None:
        logger.warning("describe_image row skipped: the image tower has no attribute heads")
        return None
    start = time.monotonic()
    answers, readings, sources = [], [], []
    for p in tqdm(products, desc="describe_image", unit="photo"):
        d = shop.describe_image(p.image, question)
        answers.append(d.text)
        sources.append(d.source)
        readings.append(" ".join(d.attributes.get(a, "") for a in ("base_colour", "article_type", "gender")))
    seconds = time.monotonic() - start
    assistant = score_answers("describe_image", products, answers, all_colours, seconds, all_types=all_types)
    assistant.examples = [{**e, "source": s} for e, s in zip(assistant.examples, sources)]
    reading = score_answers("reading alone", products, readings, all_colours, all_types=all_types)
    logger.info("describe_image sources: %s", {s: sources.count(s) for s in set(sources)})
    return {"describe_image": assistant, "reading alone": reading}


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", default=None, help="catalog CSV/JSONL (default: the sample catalog)")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--limit", type=int, default=None, help="evaluate a seeded sample of N test products")
    p.add_argument("--question", default=DEFAULT_QUESTION)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--adapters", nargs="*", default=None,
                   help="NAME=FOLDER pairs to compare (default: trained=adapters/weights/mllm)")
    p.add_argument("--no-untrained", action="store_true", help="skip the untrained-projector baseline")
    p.add_argument("--describe-image", action="store_true",
                   help="also score Assistant.describe_image (the settings' model, checked against the picture's "
                        "reading) and the reading alone")
    p.add_argument("--base", default="embedded", help="'embedded' or a local llava-hf checkpoint folder")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--backend", default="auto", choices=["auto", "transformers", "llama.cpp"])


def run_cli(args) -> int:
    """Evaluate, print a table, write the JSON report (entry point of both CLIs)."""
    from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR, MLLMConfig
    from retrieval.catalog import SAMPLE_CATALOG

    models = {}
    if not args.no_untrained:
        models["untrained"] = MLLMConfig(base=args.base, adapter_path=None, device=args.device, backend=args.backend)
    for spec in args.adapters or [f"trained={DEFAULT_MLLM_ADAPTER_DIR}"]:
        name, _, path = spec.partition("=")
        if not path:
            raise ValueError(f"--adapters takes NAME=FOLDER, got {spec!r}")
        models[name] = MLLMConfig(base=args.base, adapter_path=path, device=args.device, backend=args.backend)
    report = run(args.catalog or SAMPLE_CATALOG, models, args.limit, args.question, args.max_new_tokens,
                 args.batch_size)
    if args.describe_image:
        from retrieval.catalog import read_catalog

        catalog = read_catalog(args.catalog or SAMPLE_CATALOG)
        rows = evaluate_describe_image(held_out_products(catalog.products, args.limit),
                                       catalog.facet_values("base_colour"), catalog.facet_values("article_type"),
                                       args.question) or {}
        report["results"].update({name: {**asdict(r), "stage": "assistant"} for name, r in rows.items()})
    print(f"eval describe on {report['n']} held-out products of {report['catalog']}")
    print(f"  {'model':<12} {'stage':<9} {'colour':>7} {'grouped':>7} {'type':>7} {'both':>7} {'wrong col':>9}"
          f" {'lists':>6} {'seconds':>8}")
    for name, r in report["results"].items():
        print(f"  {name:<12} {r['stage']:<9} {r['colour_acc']:7.3f} {r['grouped_colour_acc']:7.3f} {r['type_acc']:7.3f}"
              f" {r['both_acc']:7.3f} {r['wrong_colour_rate']:9.3f} {r['many_label_rate']:6.3f} {r['seconds']:8.1f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    apply_offline_defaults()
    parser = argparse.ArgumentParser(description="held-out describe evaluation of the multimodal LLM")
    add_eval_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
