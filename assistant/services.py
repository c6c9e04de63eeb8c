"""Wiring: the only code that knows which concrete encoder, store and search classes are used.

Models are loaded once per process and shared (``functools.cache`` on the frozen configs).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from adapters.config import EncoderConfig
from adapters.imaging import DEFAULT_LIMITS, ImageLimits, load_image
from adapters.loading import load_product_encoder
from adapters.product_encoder import ProductEncoder
from assistant.settings import Settings
from retrieval.catalog import Catalog
from retrieval.ingest import IngestReport, ingest, read_vocabulary
from retrieval.query_parser import QueryParser
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


def build_search(settings: Settings, cfg: SearchConfig = SearchConfig()) -> SearchService:
    store = open_store(settings, create=False)
    vocab = read_vocabulary(store)
    encoder = product_encoder(settings.encoder_config())
    return SearchService(ProductSearch(store, encoder, QueryParser(vocab), cfg), store, encoder)


def ingest_catalog(settings: Settings, catalog: Catalog, *, rebuild: bool = False, prune: bool = False,
                   batch_size: int = 128, progress: bool = True, rebuild_on_mismatch: bool = False) -> IngestReport:
    try:
        store = open_store(settings, create=True, rebuild=rebuild)
    except StoreMismatchError as exc:
        if not rebuild_on_mismatch:
            raise
        logger.warning("rebuilding the store: %s", exc)
        store = open_store(settings, create=True, rebuild=True)
    return ingest(catalog, store, product_encoder(settings.encoder_config()), load_image,
                  batch_size=batch_size, prune=prune, progress=progress)


@functools.cache
def mllm_runner(cfg):
    """The multimodal LLM (loaded once per process per config)."""
    from adapters.loading.mllm import load_runner

    logger.info("loading the multimodal LLM %s", cfg)
    return load_runner(cfg)


def build_assistant(settings: Settings, *, llm: bool | None = None, generator: bool = True, search_service=None):
    """The :class:`assistant.core.Assistant` the settings describe: the store's search, the
    claim checker over the store's vocabulary, the MLLM (unless ``llm=False`` or settings say
    ``explanations="facts"``) and the image generator (diffusers folder, server, or compositor)."""
    from adapters.generation.factory import make_generator
    from assistant.claims import ClaimChecker
    from assistant.core import Assistant, AssistantConfig
    from assistant.explain import Explainer

    service = search_service or build_search(settings)
    use_llm = settings.explanations == "llm" if llm is None else llm
    runner = mllm_runner(settings.mllm_config()) if use_llm else None
    gen = make_generator(settings.diffusion_checkpoint, settings.image_generator_url, device=settings.device,
                         progress=False) if generator else None
    status = {
        "encoders": service.encoder.fingerprint.describe(),
        "store": f"{settings.store_config().describe()} ({service.store.count()} products)",
        "llm": (f"{runner.loaded.kind} MLLM, adaptors: {runner.loaded.stage}, decoding: {runner.backend}"
                if runner else "none (facts only)"),
        "generator": getattr(gen, "name", "none") if gen else "none",
    }
    cfg = AssistantConfig(explanations="llm" if use_llm else "facts")
    return Assistant(service.search, Explainer(ClaimChecker(service.search.parser.vocab), runner), describer=runner,
                     generator=gen, image_limits=settings.image_limits(), cfg=cfg, status=status)
