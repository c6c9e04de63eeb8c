"""How well the assistant understands shoppers in their own words: hand-written requests
(``bench/understanding/{dev,test}.jsonl``, see the README there) measured through the public API.

Three suites, every system scored on the same requests in the same run:

* **single** messages: ``Assistant.search(text, k=10)`` and a fresh ``Session.send(text)``
  (a clarifying question is a turn with no products: it scores 0 and is counted);
* **composed** requests (a catalog photo + words): ``Session.send(text, image=photo)`` and
  ``Assistant.search(text=..., image=photo)``; the photo's own product is dropped from the
  results before scoring;
* **conversations**: one ``Session`` per conversation, precision@5 after every turn and after
  the last one; a clarifying question is answered "skip" and the turn is scored on the answer.

Baselines beside the assistant under test ("ours": the request reader the settings name):
today's parser (the same assistant with the catalog-vocabulary ``QueryParser`` in its search,
and that search's ``ProductSearch.run`` directly), MiniLM over the
product titles (the store's text collection queried with the raw words, no filters), late
fusion for composed requests (``strategy="sum"``) and image similarity within the filter
the parser reads from the words (``strategy="image_only"`` with that filter).

A product is relevant when every facet the request states accepts it (``relevant``).
Precision@k is counted out of ``min(k, number of relevant products)`` as in
:mod:`retrieval.evaluation`; Hit@10 is 1 when any of the top 10 is relevant.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from tqdm.auto import tqdm

from assistant.pipeline import DEFAULT_STAGES
from assistant.services import build_assistant
from assistant.shop import AssistantConfig, Parts
from retrieval.catalog import FACETS, Product
from retrieval.query_parser import QueryParser
from retrieval.search import ProductSearch
from retrieval.stats import percentile

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parents[1] / "bench" / "understanding"
SPLITS = {"dev": "dev.jsonl", "test": "test.jsonl"}
TYPES = ("single", "composed", "conversation")
PRICE_FACETS = ("min_price", "max_price")
KNOWN_FACETS = FACETS + tuple(f"not_{f}" for f in FACETS) + PRICE_FACETS
SKIP = "skip"  # how the shopper answers a clarifying question
TARGETS = {"single_P@10": 0.90, "single_other_kinds_P@10": 0.85, "composed_P@10": 0.80,
           "conversation_P@5_per_turn": 0.85, "conversation_P@5_last_turn": 0.85}
# The columns of each suite: "ours" is the assistant under test (DEFAULT_STAGES).
SINGLE_SYSTEMS = ("ours_session", "ours_search", "parser_session", "parser_search", "parser_run", "minilm_titles")
COMPOSED_SYSTEMS = ("ours_session", "ours_session_elsewhere", "ours_search", "parser_session", "parser_search",
                    "parser_run", "late_fusion", "image_in_text_filter", "minilm_titles")
CONVERSATION_SYSTEMS = ("ours_session", "parser_session", "minilm_titles")


# --- the requests ---------------------------------------------------------------------
def relevant(relevance: dict, p: Product) -> bool:
    """Whether every facet the request states accepts ``p``."""
    for name, accepted in relevance.items():
        if name == "max_price":
            if p.price is None or p.price > accepted:
                return False
        elif name == "min_price":
            if p.price is None or p.price < accepted:
                return False
        elif name.startswith("not_"):
            if getattr(p, name[4:]) in accepted:
                return False
        elif getattr(p, name) not in accepted:
            return False
    return True


def check_relevance(relevance: dict) -> None:
    """Raise ValueError for a facet name that is not known or a badly typed value."""
    if not isinstance(relevance, dict) or not relevance:
        raise ValueError(f"relevance must be a non-empty object, got {relevance!r}")
    for name, value in relevance.items():
        if name not in KNOWN_FACETS:
            raise ValueError(f"unknown facet {name!r} (known: {', '.join(KNOWN_FACETS)})")
        if name in PRICE_FACETS:
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        elif not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} must be a non-empty list of catalog values, got {value!r}")


def load_requests(split: str = "dev", folder: Path = DATA_DIR) -> dict[str, list[dict]]:
    """The split's requests by type ("single", "composed", "conversation"), in file order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    return read_requests(folder / SPLITS[split])


def read_requests(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in TYPES}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("type") not in out:
            raise ValueError(f"{path}:{n}: unknown type {req.get('type')!r}")
        for rel in ([t["relevance"] for t in req["turns"]] if req["type"] == "conversation" else [req["relevance"]]):
            check_relevance(rel)
        out[req["type"]].append(req)
    return out


# --- scoring ----------------------------------------------------------------------------
def precision_at(ranked: list[str], rel_ids: frozenset[str], k: int) -> float:
    if not rel_ids:
        return 0.0
    return sum(1 for pid in ranked[:k] if pid in rel_ids) / min(k, len(rel_ids))


@dataclass
class Column:
    """One system's figures over one suite."""

    precision: list[float] = field(default_factory=list)
    hit: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    hit_by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    latency_ms: list[float] = field(default_factory=list)
    questions: int = 0  # turns answered with a clarifying question
    errors: int = 0

    def add(self, kind: str, p: float, h: float, ms: float) -> None:
        self.precision.append(p)
        self.hit.append(h)
        self.by_kind[kind].append(p)
        self.hit_by_kind[kind].append(h)
        self.latency_ms.append(ms)

    def summary(self, k: int) -> dict:
        return {"requests": len(self.precision), f"P@{k}": _mean(self.precision), f"Hit@{k}": _mean(self.hit),
                "by_kind": {kind: {"n": len(v), f"P@{k}": _mean(v), f"Hit@{k}": _mean(self.hit_by_kind[kind])}
                            for kind, v in sorted(self.by_kind.items())},
                "other_kinds": _mean([p for kind, v in self.by_kind.items() if kind != "plain" for p in v]),
                "clarifying_questions": self.questions, "errors": self.errors,
                "latency_ms_p50": percentile(self.latency_ms, 50, 1), "latency_ms_p95": percentile(self.latency_ms, 95, 1)}


def _mean(xs) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


@dataclass(frozen=True)
class Systems:
    """The assistants and search calls every request is run through."""

    ours: object  # Assistant, DEFAULT_STAGES, showing ``page + 1`` products (one spare for the photo's own)
    parser: object  # the same Assistant with the catalog-vocabulary parser (the baseline)
    ours_chat: object  # the same, default config (5 products a reply): conversations
    parser_chat: object
    ours_elsewhere: object  # "ours", every photo read as one from elsewhere (not the shop's own picture)
    page: int = 10

    @classmethod
    def build(cls, parts: Parts, stages=None, page: int = 10) -> Systems:
        """``parts`` as loaded (the request reader the settings name) and, for the baseline, the
        same parts with today's catalog-vocabulary parser in their search."""
        wide = AssistantConfig(shown=page + 1, candidates=max(AssistantConfig().candidates, page + 1))
        stages = stages or DEFAULT_STAGES
        search = parts.search
        parser_parts = replace(parts, search=ProductSearch(search.store, search.embedder,
                                                           QueryParser(search.parser.vocab), search.cfg))
        elsewhere = replace(parts, search=ProductSearch(search.store, search.embedder, search.parser,
                                                        replace(search.cfg, recognise=False)))
        chat = AssistantConfig()
        return cls(build_assistant(parts, wide, stages), build_assistant(parser_parts, wide, stages),
                   build_assistant(parts, chat, stages), build_assistant(parser_parts, chat, stages),
                   build_assistant(elsewhere, wide, stages), page)

    @property
    def search(self):
        return self.parser.search_engine

    def minilm(self, text: str, k: int) -> list[str]:
        """MiniLM over the product text (titles): the raw words, no filters, no parsing."""
        vec = self.search.embedder.embed_texts([text])[0]
        return [m.product.id for m in self.search.store.query(vec, space="text", where=None, k=k)]


def _ids_of(shown) -> list[str]:
    return [s.product.id for s in shown]


def _session_ids(assistant, text: str, image=None) -> tuple[list[str], bool]:
    """What the page shows for one message; a clarifying question comes beside the products."""
    reply = assistant.new_session().send(text, image=image)
    return _ids_of(reply.products), reply.clarification is not None


def _timed(fn: Callable[[], object]) -> tuple[object, float, str | None]:
    t0 = time.perf_counter()
    try:
        out, err = fn(), None
    except Exception as exc:  # noqa: BLE001 -- a system failing on a request scores 0 there (counted)
        logger.warning("request failed: %s", exc)
        out, err = None, f"{type(exc).__name__}: {exc}"
    return out, (time.perf_counter() - t0) * 1000, err


class _Suite:
    def __init__(self, systems: tuple[str, ...], k: int):
        self.k = k
        self.columns = {s: Column() for s in systems}
        self.lists: dict[str, list[list[str]]] = {s: [] for s in systems}
        self.examples: list[dict] = []
        self.rows: dict[str, dict] = {}  # request (or "conversation#turn") -> its precision per system

    def score(self, system: str, kind: str, ranked: list[str], rel_ids: frozenset[str], ms: float,
              err: str | None = None, asked: bool = False, row: tuple[str, str] | None = None) -> float:
        col = self.columns[system]
        p = precision_at(ranked, rel_ids, self.k)
        if row is not None:
            entry = self.rows.setdefault(row[0], {"kind": kind, "text": row[1], "relevant": len(rel_ids)})
            entry[system] = round(p, 3)
        col.add(kind, p, float(any(pid in rel_ids for pid in ranked[: self.k])), ms)
        col.questions += asked
        col.errors += err is not None
        self.lists[system].append(ranked[: self.k])
        return p

    def summary(self) -> dict:
        out = {s: c.summary(self.k) for s, c in self.columns.items()}
        same = {}
        for a, b in (("ours_session", "parser_session"), ("ours_search", "parser_search")):
            if a in self.lists and b in self.lists:
                same[f"{a}=={b}"] = sum(x == y for x, y in zip(self.lists[a], self.lists[b]))
        return {"systems": out, "identical_lists": same, "examples_missed": self.examples[:12],
                "per_request": self.rows}


def _relevant_ids(products: list[Product], relevance: dict, exclude: str | None = None) -> frozenset[str]:
    return frozenset(p.id for p in products if p.id != exclude and relevant(relevance, p))


def _single_calls(sys: Systems, text: str, k: int) -> dict[str, Callable[[], tuple[list[str], bool]]]:
    """Each system's call for one message: (product ids, whether it asked a question)."""
    return {
        "ours_session": lambda: _session_ids(sys.ours, text),
        "ours_search": lambda: (_ids_of(sys.ours.search(text, k=k)), False),
        "parser_session": lambda: _session_ids(sys.parser, text),
        "parser_search": lambda: (_ids_of(sys.parser.search(text, k=k)), False),
        "parser_run": lambda: ([h.product.id for h in sys.search.run(text, k=k).hits], False),
        "minilm_titles": lambda: (sys.minilm(text, k), False),
    }


def _composed_calls(sys: Systems, text: str, photo_id: str, photo: str, pil, k: int
                    ) -> dict[str, Callable[[], tuple[list[str], bool]]]:
    """Each system's call for one photo + words, the photo's own product left out."""
    skip = (photo_id,)

    def drop(ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i != photo_id][:k]

    def session(assistant) -> tuple[list[str], bool]:
        ids, asked = _session_ids(assistant, text, image=photo)
        return drop(ids), asked

    def run(**kwargs) -> tuple[list[str], bool]:
        return [h.product.id for h in sys.search.run(text, pil, k=k, exclude_ids=skip, **kwargs).hits], False

    return {
        "ours_session": lambda: session(sys.ours),
        "ours_session_elsewhere": lambda: session(sys.ours_elsewhere),
        "ours_search": lambda: (drop(_ids_of(sys.ours.search(text=text, image=photo, k=k + 1))), False),
        "parser_session": lambda: session(sys.parser),
        "parser_search": lambda: (drop(_ids_of(sys.parser.search(text=text, image=photo, k=k + 1))), False),
        "parser_run": lambda: run(),
        "late_fusion": lambda: run(strategy="sum"),
        # image_only reads no filter from the words by itself: hand it the parser's
        "image_in_text_filter": lambda: run(filters=sys.search.parser.parse(text).filter, strategy="image_only"),
        "minilm_titles": lambda: (drop(sys.minilm(text, k + 1)), False),
    }


def run_single(sys: Systems, products: list[Product], requests: list[dict], progress: bool = True) -> dict:
    suite = _Suite(SINGLE_SYSTEMS, sys.page)
    for req in tqdm(requests, desc="single messages", disable=not progress):
        text, kind = req["text"], req["kind"]
        rel = _relevant_ids(products, req["relevance"])
        for name, call in _single_calls(sys, text, sys.page).items():
            out, ms, err = _timed(call)
            ranked, asked = out if out is not None else ([], False)
            p = suite.score(name, kind, ranked, rel, ms, err, asked, (req["id"], text))
            if name == "ours_session" and p < 0.5:
                suite.examples.append({"id": req["id"], "kind": kind, "text": text, "P@10": round(p, 2),
                                       "asked": asked, "error": err})
    return suite.summary()


def run_composed(sys: Systems, products: list[Product], requests: list[dict], progress: bool = True) -> dict:
    suite = _Suite(COMPOSED_SYSTEMS, sys.page)
    by_id = {p.id: p for p in products}
    for req in tqdm(requests, desc="composed requests", disable=not progress):
        text, kind, photo_id = req["text"], req["kind"], req["photo"]
        photo = by_id[photo_id].image
        rel = _relevant_ids(products, req["relevance"], exclude=photo_id)
        pil = sys.ours.load_image(photo)
        for name, call in _composed_calls(sys, text, photo_id, photo, pil, sys.page).items():
            out, ms, err = _timed(call)
            ranked, asked = out if out is not None else ([], False)
            p = suite.score(name, kind, ranked, rel, ms, err, asked, (req["id"], text))
            if name == "ours_session" and p < 0.5:
                suite.examples.append({"id": req["id"], "kind": kind, "photo": photo_id, "text": text,
                                       "P@10": round(p, 2), "asked": asked, "error": err})
    return suite.summary()


def run_conversations(sys: Systems, products: list[Product], conversations: list[dict],
                      progress: bool = True, k: int = 5) -> dict:
    """Precision@5 after every turn (by the turn's kind) and after the last turn."""
    per_turn = _Suite(CONVERSATION_SYSTEMS, k)
    last = _Suite(CONVERSATION_SYSTEMS, k)
    answered_skip = {s: 0 for s in CONVERSATION_SYSTEMS}
    for conv in tqdm(conversations, desc="conversations", disable=not progress):
        sessions = {"ours_session": sys.ours_chat.new_session(), "parser_session": sys.parser_chat.new_session()}
        said: list[str] = []
        turns = conv["turns"]
        for i, turn in enumerate(turns):
            rel = _relevant_ids(products, turn["relevance"])
            said.append(turn["text"])
            for name in CONVERSATION_SYSTEMS:
                if name == "minilm_titles":  # the words said so far, as one query
                    words = " ".join(w for w in said if w.lower() != SKIP)
                    out, ms, err = _timed(partial(sys.minilm, words, k))
                    ranked, asked = out or [], False
                else:
                    out, ms, err = _timed(partial(_conversation_turn, sessions[name], turn["text"]))
                    ranked, asked = out if out is not None else ([], False)
                    answered_skip[name] += asked
                p = per_turn.score(name, turn["kind"], ranked, rel, ms, err, asked,
                                   (f"{conv['id']}#{i + 1}", turn["text"]))
                if i == len(turns) - 1:
                    last.score(name, turn["kind"], ranked, rel, ms, err, asked)
                if name == "ours_session" and p < 0.5:
                    per_turn.examples.append({"id": conv["id"], "turn": i + 1, "kind": turn["kind"],
                                              "text": turn["text"], "P@5": round(p, 2), "asked": asked, "error": err})
    out = per_turn.summary()
    out["last_turn"] = last.summary()["systems"]
    out["conversations"] = len(conversations)
    out["questions_answered_skip"] = answered_skip
    return out


def _conversation_turn(session, text: str) -> tuple[list[str], bool]:
    """The shopper's turn; a clarifying question is answered "skip" and scored on that answer."""
    reply = session.send(text)
    asked = reply.clarification is not None
    if asked:
        reply = session.send(SKIP)
    return _ids_of(reply.products), asked


# --- the whole evaluation -------------------------------------------------------------------
def evaluate(parts: Parts, products: list[Product], requests: dict[str, list[dict]], *, stages=None,
             limit: int | None = None, progress: bool = True) -> dict:
    """Every suite over ``requests`` (``load_requests``), every system in the same run."""
    sys = Systems.build(parts, stages)
    t0 = time.perf_counter()
    result: dict = {}
    chosen = {t: (reqs[:limit] if limit else reqs) for t, reqs in requests.items()}
    if chosen.get("single"):
        result["single"] = run_single(sys, products, chosen["single"], progress)
    if chosen.get("composed"):
        result["composed"] = run_composed(sys, products, chosen["composed"], progress)
    if chosen.get("conversation"):
        result["conversation"] = run_conversations(sys, products, chosen["conversation"], progress)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["headline"] = headline(result)
    result["targets"] = {k: v for k, v in TARGETS.items() if k in result["headline"]}
    result["meets_targets"] = {k: result["headline"][k] is not None and result["headline"][k] >= v
                               for k, v in result["targets"].items()}
    return result


def headline(result: dict, system: str = "ours_session") -> dict:
    h = {}
    if "single" in result:
        s = result["single"]["systems"][system]
        h["single_P@10"], h["single_other_kinds_P@10"] = s["P@10"], s["other_kinds"]
    if "composed" in result:
        h["composed_P@10"] = result["composed"]["systems"][system]["P@10"]
        h["composed_P@10_photos_from_elsewhere"] = result["composed"]["systems"].get(f"{system}_elsewhere", {}).get("P@10")
    if "conversation" in result:
        h["conversation_P@5_per_turn"] = result["conversation"]["systems"][system]["P@5"]
        h["conversation_P@5_last_turn"] = result["conversation"]["last_turn"][system]["P@5"]
    return h
