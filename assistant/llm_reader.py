"""The request reader with the multimodal LLM taking part: grammar-constrained slot filling.

The LLM never drives anything: our code asks it one question per message ("the request in
force, the message: what does the message ask for?") and it can only answer with a
:class:`~adapters.mllm.request_update.RequestUpdate` in the catalog's own values (a llama.cpp
grammar made from the store's vocabulary). :class:`LLMRequestReader` has the deterministic
reader's interface (``parse(text) -> ParsedQuery``, ``vocab``, ``shift_colours``), so every
entry point that reads requests takes it unchanged (``Settings.request_reader``):

* ``"llm"``: the LLM's update alone is the reading (the deterministic one only when the LLM
  gives nothing usable);
* ``"words+llm"``: the deterministic reading stays the base; for a message with words the
  reader could not map (``free_words``), the LLM fills the facets the words left empty, as
  ranking preferences (``fill="soft"``: a wrong guess reorders, never empties a page) or as
  filters (``fill="filter"``). Which is better is measured, not assumed (README).

An unusable answer (cut short, not the schema, an error in the runner) falls back to the
deterministic reading; answers are cached per (message, request in force).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from typing import Literal

from adapters.mllm.grammar import JSON_BACKENDS_HINT
from adapters.mllm.prompts import READER_SYSTEM_PROMPT, request_update_prompt
from adapters.mllm.request_update import FACETS, RequestUpdate, parse_update, update_schema
from adapters.mllm.runner import ChatMessage
from retrieval.filters import ProductFilter
from retrieval.query_parser import ParsedQuery, Vocabulary, check_query_text, normalise
from retrieval.vocabulary import FILLER_WORDS

logger = logging.getLogger(__name__)

NO_REQUEST = ProductFilter().describe()  # "no filter": what the prompt says before the first message
READER_MODES = ("llm", "words+llm")


@dataclass(frozen=True)
class LLMReaderConfig:
    """``mode``: the LLM alone, or the deterministic reading with the LLM filling gaps;
    ``ask``: when the combination asks the LLM (messages with unmapped words, or every one);
    ``fill``: how an LLM facet enters where the words stated none."""

    mode: Literal["llm", "words+llm"] = "words+llm"
    ask: Literal["free_words", "always"] = "free_words"
    fill: Literal["soft", "filter"] = "soft"
    max_new_tokens: int = 64
    cache_size: int = 512

    def __post_init__(self) -> None:
        if self.mode not in READER_MODES:
            raise ValueError(f"LLMReaderConfig: mode must be one of {READER_MODES}, got {self.mode!r}")
        if self.ask not in ("free_words", "always") or self.fill not in ("soft", "filter"):
            raise ValueError("LLMReaderConfig: ask is 'free_words' or 'always', fill is 'soft' or 'filter'")
        if not 8 <= self.max_new_tokens <= 256 or self.cache_size < 0:
            raise ValueError("LLMReaderConfig: max_new_tokens in 8..256, cache_size >= 0")


class UpdateDecoder:
    """One grammar-constrained LLM answer per (message, request in force), cached (LRU).
    ``stats`` counts calls, cache hits, unusable answers and errors, and the decode time."""

    def __init__(self, runner, vocab: Vocabulary, max_new_tokens: int = 64, cache_size: int = 512):
        if not getattr(runner, "supports_json_schema", False):
            raise ValueError(f"the LLM request reader: {JSON_BACKENDS_HINT} (this runner decodes with "
                             f"{getattr(runner, 'backend', type(runner).__name__)})")
        self.runner = runner
        self.values = vocab.to_dict()
        self.schema = update_schema(self.values)
        self.max_new_tokens, self.cache_size = max_new_tokens, cache_size
        self.stats: Counter = Counter()
        self._cache: OrderedDict[tuple[str, str], RequestUpdate | None] = OrderedDict()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """One decode, uncounted and uncached: a llama.cpp model's first decode after loading is
        several times slower than the next (measured 6-7 s against 0.4 s), and no shopper should wait it."""
        stats = Counter(self.stats)
        self._decode("hello", NO_REQUEST)
        self.stats = stats

    def __call__(self, message: str, request: str = NO_REQUEST) -> RequestUpdate | None:
        key = (message, request)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.stats["cached"] += 1
                return self._cache[key]
        update = self._decode(message, request)
        with self._lock:
            self._cache[key] = update
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return update

    def _decode(self, message: str, request: str) -> RequestUpdate | None:
        t0 = time.perf_counter()
        self.stats["calls"] += 1
        try:
            messages = [ChatMessage("system", READER_SYSTEM_PROMPT),
                        ChatMessage("user", request_update_prompt(request, message))]
            text = self.runner.generate_json(messages, self.schema, max_new_tokens=self.max_new_tokens)
        except Exception:  # noqa: BLE001 -- the reader answers without the LLM, and says so in the log
            logger.exception("the LLM request reader failed on %r; using the deterministic reading", message[:80])
            self.stats["errors"] += 1
            return None
        finally:
            self.stats["ms"] += round((time.perf_counter() - t0) * 1000)
        update = parse_update(text, self.values)
        self.stats["unusable"] += update is None
        logger.debug("LLM reading of %r under %r: %s", message, request, text)
        return update


class LLMRequestReader:
    """``parse(text)`` like :class:`retrieval.reader.RequestReader` (``words``), with the LLM
    taking part as ``cfg`` says; :meth:`in_context` reads against the request in force."""

    def __init__(self, words, decoder: UpdateDecoder, cfg: LLMReaderConfig = LLMReaderConfig()):
        self.words, self.decoder, self.cfg = words, decoder, cfg
        self.vocab = words.vocab

    def parse(self, text: str, request: str = NO_REQUEST) -> ParsedQuery:
        base = self.words.parse(text)  # the same input checks (QueryError) whatever the mode
        if self.cfg.mode == "words+llm" and not self.asks_llm(base):
            return base
        update = self.decoder(text, request)
        if update is None:
            return base
        if self.cfg.mode == "llm":
            return from_update(text, update)
        return combine(base, update, self.cfg.fill)

    def asks_llm(self, base: ParsedQuery) -> bool:
        return self.cfg.ask == "always" or bool(base.free_words)

    def in_context(self, request: ProductFilter) -> _InContext:
        """This reader reading the next message against ``request`` (the filter in force)."""
        return _InContext(self, request.describe())

    def shift_colours(self, colours: tuple[str, ...], direction: str, asked: bool = False) -> tuple[str, ...]:
        return self.words.shift_colours(colours, direction, asked)


@dataclass(frozen=True)
class _InContext:
    reader: LLMRequestReader
    request: str

    @property
    def vocab(self):
        return self.reader.vocab

    def parse(self, text: str) -> ParsedQuery:
        return self.reader.parse(text, self.request)

    def shift_colours(self, colours: tuple[str, ...], direction: str, asked: bool = False) -> tuple[str, ...]:
        return self.reader.shift_colours(colours, direction, asked)


def reader_in_context(reader, request: ProductFilter):
    """The reader to read a conversation's next message with: an LLM reader told the request
    in force; any other reader as it is (it reads the message alone)."""
    return reader.in_context(request) if isinstance(reader, LLMRequestReader) else reader


def words_reader(reader):
    """The deterministic reader behind ``reader`` (itself when it has no LLM)."""
    return reader.words if isinstance(reader, LLMRequestReader) else reader


# --- readings from an update ----------------------------------------------------------------
def _filter_of(u: RequestUpdate) -> ProductFilter:
    return ProductFilter(colours=u.colours, article_types=u.article_types, genders=u.genders, usages=u.usages,
                         min_price=u.min_price, max_price=u.max_price, exclude_colours=u.exclude_colours,
                         exclude_article_types=u.exclude_article_types, exclude_usages=u.exclude_usages)


def from_update(text: str, u: RequestUpdate) -> ParsedQuery:
    """The LLM's update alone as the reading: its slots are the filter, nothing is left unread."""
    check_query_text(text)
    filt = _filter_of(u)
    values = [*u.colours, *u.article_types, *u.usages, *u.genders]
    words = [w for w in normalise(text).split() if w not in FILLER_WORDS and len(w) > 2 and not w.isdigit()]
    return ParsedQuery(text=text, filter=filt, semantic_text=" ".join(values or words) or "product",
                       matched={"llm": (u.to_json(),)}, sort="price" if u.cheapest_first else None,
                       relative_colour=u.colour_move, relative_price=u.price_move, complement=u.goes_with,
                       free_words=())


def combine(base: ParsedQuery, u: RequestUpdate, fill: Literal["soft", "filter"] = "soft") -> ParsedQuery:
    """``base`` (the deterministic reading) with the LLM's update filling what it left open.

    A facet the words stated stays theirs. One they left empty (or only inferred) takes the
    LLM's values: as a preference (``fill="soft"``: products that have them come first) or as
    a filter (``"filter"``). Price bounds likewise; "the cheapest" is taken either way (an
    order, never a filter); exclusions, colour and price moves and "goes with" only as filters."""
    hard, soft = base.filter, base.soft
    to_hard: dict = {}
    to_soft: dict = {}
    for facet in FACETS:
        llm = getattr(u, facet)
        if not llm or getattr(hard, facet):
            continue
        if fill == "filter":
            to_hard[facet] = llm
        else:
            to_soft[facet] = tuple(dict.fromkeys(getattr(soft, facet) + llm))
    for bound in ("min_price", "max_price"):
        if getattr(u, bound) is not None and hard.min_price is None and hard.max_price is None:
            (to_hard if fill == "filter" else to_soft)[bound] = getattr(u, bound)
    moves = {}
    if fill == "filter":
        for name in ("exclude_colours", "exclude_article_types", "exclude_usages"):
            if getattr(u, name) and not getattr(hard, name):
                to_hard[name] = tuple(v for v in getattr(u, name) if v not in getattr(hard, name[8:]))
        moves = {"relative_colour": base.relative_colour or u.colour_move,
                 "relative_price": base.relative_price or u.price_move, "complement": base.complement or u.goes_with}
    if not (to_hard or to_soft or moves) and not (u.cheapest_first and not base.sort):
        return base
    added = [*to_hard.get("article_types", ()), *to_hard.get("colours", ()), *to_hard.get("usages", ())]
    semantic = " ".join([base.semantic_text, *added]) if added and base.semantic_text != "product" else \
        (" ".join(added) or base.semantic_text)
    return replace(base, filter=replace(hard, **to_hard), soft=replace(soft, **to_soft),
                   sort=base.sort or ("price" if u.cheapest_first else None), semantic_text=semantic,
                   matched={**base.matched, "llm": (u.to_json(),)}, **moves)
