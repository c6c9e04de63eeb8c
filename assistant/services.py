"""The composition root: the only code that knows which concrete encoder, store, search, LLM
and generator classes are used (``load_parts(settings)``, then ``build_assistant(parts, config)``).

Models are loaded once per process and shared (``functools.cache`` on the frozen configs).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from adapters.compute import single_threaded_torch
from adapters.config import EncoderConfig
from adapters.generation.factory import make_generator
from adapters.imaging import DEFAULT_LIMITS, ImageLimits, load_image
from adapters.loading import load_product_encoder
from adapters.loading.mllm import load_runner, takes_the_cores
from adapters.loading.pending import Pending
from adapters.mllm.config import MLLMConfig
from adapters.product_encoder import ProductEncoder
from assistant.claims import ClaimChecker
from assistant.core import Assistant
from assistant.explain import Explainer
from assistant.llm_reader import LLMReaderConfig, LLMRequestReader, UpdateDecoder
from assistant.pipeline import DEFAULT_STAGES, Stages
from assistant.settings import Settings
from assistant.shop import AssistantConfig, Parts, Shop
from retrieval.catalog import Catalog
from retrieval.ingest import WRITE_ROWS, IngestReport, ingest, read_vocabulary
from retrieval.query_parser import QueryParser
from retrieval.reader import RequestReader
from retrieval.search import ProductSearch, SearchConfig
from retrieval.store import ProductStore, StoreConfig, StoreMismatchError, drop_store, make_client

logger = logging.getLogger(__name__)


@functools.cache
def product_encoder(cfg: EncoderConfig) -> ProductEncoder:
    logger.info("loading encoders %s", cfg)
    return load_product_encoder(cfg)


def open_store(settings: Settings, *, create: bool, rebuild: bool = False) -> ProductStore:
    encoder = product_encoder(settings.encoder_config())
    store_cfg: StoreConfig = settings.store_config()
    client = make_client(store_cfg)
    if rebuild:
        drop_store(client, store_cfg.collection)
    return ProductStore(client, store_cfg.collection, encoder.fingerprint, create=create)


@dataclass
class SearchService:
    """A ready search over one store, with the loaders a caller needs for images."""

    search: ProductSearch
    store: ProductStore
    encoder: ProductEncoder
    image_limits: ImageLimits = DEFAULT_LIMITS

    def load_image(self, src, name: str | None = None):
        return load_image(src, self.image_limits, name=name)


def build_search(settings: Settings, cfg: SearchConfig | None = None) -> SearchService:
    cfg = cfg or SearchConfig(recognise=settings.recognise_pictures)
    store = open_store(settings, create=False)
    vocab = read_vocabulary(store)
    encoder = product_encoder(settings.encoder_config())
    return SearchService(ProductSearch(store, encoder, make_reader(settings, vocab, encoder), cfg), store, encoder)


def make_reader(settings: Settings, vocab, encoder: ProductEncoder):
    """The request reader ``settings.request_reader`` names, over the store's vocabulary."""
    if settings.request_reader == "parser":
        return QueryParser(vocab)
    words = RequestReader(vocab, encoder.embed_texts, known_words=encoder.known_words())
    if settings.request_reader == "words":
        return words
    cfg = LLMReaderConfig(mode=settings.request_reader, fill=settings.reader_fill)
    decoder = UpdateDecoder(mllm_runner(settings.reader_mllm_config()), vocab, cfg.max_new_tokens, cfg.cache_size)
    decoder.warm_up()
    return LLMRequestReader(words, decoder, cfg)


def ingest_catalog(settings: Settings, catalog: Catalog, *, rebuild: bool = False, prune: bool = False,
                   batch_size: int = 128, progress: bool = True, rebuild_on_mismatch: bool = False,
                   bulk: str = "auto", write_rows: int = WRITE_ROWS) -> IngestReport:
    try:
        store = open_store(settings, create=True, rebuild=rebuild)
    except StoreMismatchError as exc:
        if not rebuild_on_mismatch:
            raise
        logger.warning("rebuilding the store: %s", exc)
        store = open_store(settings, create=True, rebuild=True)
    return ingest(catalog, store, product_encoder(settings.encoder_config()), load_image,
                  batch_size=batch_size, prune=prune, progress=progress, bulk=bulk,
                  write_rows=write_rows)


@functools.cache
def mllm_runner(cfg: MLLMConfig):
    """The multimodal LLM (loaded once per process per config)."""
    logger.info("loading the multimodal LLM %s", cfg)
    return load_runner(cfg)


def load_parts(settings: Settings | None = None, *, llm: bool | None = None, generator: bool = True,
               search_service: SearchService | None = None, llm_in_background: bool = False) -> Parts:
    """The parts the settings describe: the store's search, the claim checker over the
    store's vocabulary, the MLLM (unless ``llm=False`` or settings say
    ``explanations="facts"``) and the image generator (diffusers folder, server, or compositor).

    ``llm_in_background``: return once the search is loaded, the MLLM still loading on another
    thread (the chat page: products can be shown before it is loaded; its first sentence waits
    for it). It starts after the search, not beside it: loading the two side by side showed no
    clear gain on 2 cores, and both first import transformers' lazily loaded model code, which
    is better not imported from two threads at once."""
    settings = settings or Settings()
    use_llm = settings.explanations == "llm" if llm is None else llm
    if use_llm and takes_the_cores(settings.mllm_config()):  # before any torch work here: one OpenMP pool
        single_threaded_torch()
    service = search_service or build_search(settings)
    pending = Pending(functools.partial(mllm_runner, settings.mllm_config()), "llm") if use_llm else None
    runner = pending if pending is None or llm_in_background else pending.ready()
    gen = make_generator(settings.diffusion_checkpoint, settings.image_generator_url, device=settings.device,
                         progress=False, text_side=settings.generation_text_side) if generator else None
    status = {
        "encoders": service.encoder.fingerprint.describe(),
        "store": f"{settings.store_config().describe()} ({service.store.count()} products)",
        "llm": "loading..." if runner is not None else "none (facts only)",
        "generator": gen.name if gen else "none",
    }
    if pending is not None:  # filled in now, or when the background load ends
        pending.when_loaded(lambda r: status.update(llm=_llm_status(r)),
                            lambda exc: status.update(llm=f"failed to load: {exc}"))
    explainer = Explainer(ClaimChecker(service.search.parser.vocab), runner, comment=settings.reply_comment == "llm")
    return Parts(service.search, explainer, describer=runner, generator=gen, image_limits=settings.image_limits(),
                 status=status)


def _llm_status(runner) -> str:
    return f"{runner.loaded.kind} MLLM, adaptors: {runner.loaded.stage}, decoding: {runner.backend}"


def build_assistant(parts: Parts, config: AssistantConfig = AssistantConfig(),
                    stages: Stages = DEFAULT_STAGES) -> Assistant:
    """The assistant over ``parts``: the one place that puts the pieces together."""
    return Assistant(Shop(parts, config), stages)


def load_assistant(settings: Settings | None = None, **options) -> Assistant:
    """``build_assistant(load_parts(settings, **options))``: the embedded default with no arguments."""
    return build_assistant(load_parts(settings, **options))
