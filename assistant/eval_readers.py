"""The request readers side by side (issue 13, "the multimodal LLM takes part"), on the understanding
evaluation's hand-written requests (:mod:`assistant.eval_understanding`):

* ``words``: the deterministic request reader (the default, the baseline of this run);
* ``llm``: the LLM's grammar-constrained reading alone (the words' reading only when it gives
  nothing usable);
* ``words+llm``: the words' reading, the LLM filling what they left open for messages with
  unmapped words, as preferences (``fill="soft"``) or ``words+llm:filter`` as filters.

Each through the public API, as the understanding evaluation's ``ours_session`` (a fresh
``Session.send``) and ``ours_search`` (``Assistant.search``) for single and composed requests,
and per turn of the conversations (a clarifying question answered "skip"), in one run over the
same loaded parts. One LLM decoder serves every variant: its answers are cached per (message,
request in force), so variants asking the same question share one decode; the decode counts
and time are reported per variant.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from tqdm.auto import tqdm

from assistant.eval_understanding import SKIP, Column, _conversation_turn, _ids_of, _relevant_ids, \
    _session_ids, precision_at
from assistant.llm_reader import LLMReaderConfig, LLMRequestReader, UpdateDecoder
from assistant.services import build_assistant
from assistant.shop import AssistantConfig, Parts
from retrieval.catalog import Product
from retrieval.search import ProductSearch

logger = logging.getLogger(__name__)

VARIANTS: dict[str, LLMReaderConfig | None] = {
    "words": None,
    "words+llm": LLMReaderConfig(mode="words+llm", fill="soft"),
    "words+llm:filter": LLMReaderConfig(mode="words+llm", fill="filter"),
    "llm": LLMReaderConfig(mode="llm"),
}


def _assistants(parts: Parts, reader, page: int):
    """(the wide assistant for single and composed requests, the chat one for conversations)."""
    s = parts.search
    reader_parts = replace(parts, search=ProductSearch(s.store, s.embedder, reader, s.cfg))
    wide = AssistantConfig(shown=page + 1, candidates=max(AssistantConfig().candidates, page + 1))
    return build_assistant(reader_parts, wide), build_assistant(reader_parts, AssistantConfig())


def _score(col: Column, kind: str, call: Callable, rel: frozenset[str], k: int, drop: str | None = None) -> None:
    t0 = time.perf_counter()
    try:
        ranked, asked = call()
    except Exception as exc:  # noqa: BLE001 -- a failing request scores 0 there (counted)
        logger.warning("request failed: %s", exc)
        ranked, asked = [], False
        col.errors += 1
    ms = (time.perf_counter() - t0) * 1000
    ranked = [i for i in ranked if i != drop][:k]
    col.add(kind, precision_at(ranked, rel, k), float(any(i in rel for i in ranked)), ms)
    col.questions += asked


def run_variant(wide, chat, products: list[Product], requests: dict[str, list[dict]], page: int = 10,
                progress: bool = True, label: str = "") -> dict:
    """``ours_session`` and ``ours_search`` of one reader over every suite."""
    out: dict = {}
    by_id = {p.id: p for p in products}
    for suite in ("single", "composed"):
        cols = {"ours_session": Column(), "ours_search": Column()}
        for req in tqdm(requests.get(suite, []), desc=f"{label} {suite}", disable=not progress):
            text, photo_id = req["text"], req.get("photo")
            photo = by_id[photo_id].image if photo_id else None
            rel = _relevant_ids(products, req["relevance"], exclude=photo_id)
            _score(cols["ours_session"], req["kind"], lambda: _session_ids(wide, text, image=photo), rel, page, photo_id)
            _score(cols["ours_search"], req["kind"], lambda: (_ids_of(wide.search(text=text, image=photo, k=page + 1)),
                                                              False), rel, page, photo_id)
        out[suite] = {name: col.summary(page) for name, col in cols.items()}
    per_turn, last = Column(), Column()
    for conv in tqdm(requests.get("conversation", []), desc=f"{label} conversations", disable=not progress):
        session = chat.new_session()
        for i, turn in enumerate(conv["turns"]):
            rel = _relevant_ids(products, turn["relevance"])
            _score(per_turn, turn["kind"], lambda: _conversation_turn(session, turn["text"]), rel, 5)
            if i == len(conv["turns"]) - 1:
                last.add(turn["kind"], per_turn.precision[-1], per_turn.hit[-1], per_turn.latency_ms[-1])
    if requests.get("conversation"):
        out["conversation"] = {"ours_session": per_turn.summary(5), "last_turn": last.summary(5)}
    return out


def evaluate_readers(parts: Parts, products: list[Product], requests: dict[str, list[dict]], decoder: UpdateDecoder,
                     variants: dict[str, LLMReaderConfig | None] = VARIANTS, limit: int | None = None,
                     progress: bool = True, page: int = 10) -> dict:
    """Every variant over ``requests`` (``load_requests``), in one run over ``parts`` (its search's
    reader must be the deterministic one: the LLM variants wrap it)."""
    words = parts.search.parser
    chosen = {t: (reqs[:limit] if limit else reqs) for t, reqs in requests.items()}
    result: dict = {"variants": {}, "skip_answer": SKIP}
    for name, cfg in variants.items():
        reader = words if cfg is None else LLMRequestReader(words, decoder, cfg)
        before = Counter(decoder.stats)
        t0 = time.perf_counter()
        figures = run_variant(*_assistants(parts, reader, page), products, chosen, page, progress, name)
        stats = {k: decoder.stats[k] - before[k] for k in ("calls", "cached", "unusable", "errors", "ms")}
        stats["decode_ms_mean"] = round(stats["ms"] / stats["calls"], 1) if stats["calls"] else None
        result["variants"][name] = {"config": None if cfg is None else vars(cfg), "llm": stats,
                                    "seconds": round(time.perf_counter() - t0, 1), **figures}
        logger.info("%s: %s", name, headline(result["variants"][name]))
    result["headline"] = {name: headline(v) for name, v in result["variants"].items()}
    return result


def headline(v: dict) -> dict:
    """The figures of one variant a table shows."""
    h = {}
    for suite in ("single", "composed"):
        if suite in v:
            for system in ("ours_session", "ours_search"):
                s = v[suite][system]
                h[f"{suite}_{system.removeprefix('ours_')}_P@10"] = s["P@10"]
            h[f"{suite}_session_p50_ms"] = v[suite]["ours_session"]["latency_ms_p50"]
    if "single" in v:
        h["single_session_other_kinds"] = v["single"]["ours_session"]["other_kinds"]
    if "conversation" in v:
        h["conversation_P@5_per_turn"] = v["conversation"]["ours_session"]["P@5"]
        h["conversation_P@5_last_turn"] = v["conversation"]["last_turn"]["P@5"]
    return h


def format_readers(result: dict) -> str:
    """One row per figure, one column per reader."""
    names = list(result["headline"])
    keys = list(next(iter(result["headline"].values())))
    lines = ["  " + f"{'':34s}" + "".join(f"{n:>18s}" for n in names)]
    for key in keys:
        cells = [result["headline"][n].get(key) for n in names]
        lines.append("  " + f"{key:34s}" + "".join(f"{c:18.3f}" if isinstance(c, float) else f"{str(c):>18s}"
                                                   for c in cells))
    llm = {n: result["variants"][n]["llm"] for n in names}
    for label, cell in (("LLM decodes (cache hits)", lambda s: f"{s['calls']} ({s['cached']})"),
                        ("LLM unusable / errors", lambda s: f"{s['unusable']} / {s['errors']}"),
                        ("LLM ms per decode", lambda s: str(s["decode_ms_mean"]))):
        lines.append("  " + f"{label:34s}" + "".join(f"{cell(llm[n]):>18s}" for n in names))
    return "\n".join(lines)
