"""What every session of one assistant shares: the loaded parts (search, explainer, LLM,
generator), the config, one model lock, and the caches. Built by the composition root
(:func:`assistant.services.build_assistant`), read by the turn pipeline."""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from adapters.generation.base import ImageGenerator
from adapters.imaging import DEFAULT_LIMITS, ImageError, ImageLimits, ImageSource, load_image
from assistant.explain import Explainer, facts_explanation, matches_for
from assistant.dialogue import Constraints
from assistant.imagine import GeneratedPicture, names_a_kind, product_ref, respond_to_image_request
from assistant.llm_reader import words_reader
from assistant.policy import PolicyConfig
from assistant.replies import ShownProduct
from retrieval.catalog import Product
from retrieval.filters import ProductFilter, to_where
from retrieval.photo_edits import Edits
from retrieval.search import Hit, ProductSearch
from retrieval.facets import facet_counts, median_price, nth_lowest_price
from retrieval.store import ProductStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantConfig:
    shown: int = 5  # products per reply
    candidates: int = 30  # retrieved before re-ranking
    max_turns_kept: int = 20  # history is trimmed to this many turns (memory stays bounded)
    generation_timeout_s: float = 120.0  # an image request answers "timed out" after this long
    policy: PolicyConfig = PolicyConfig()

    def __post_init__(self) -> None:
        if not 1 <= self.shown <= self.candidates <= 100:
            raise ValueError("AssistantConfig: need 1 <= shown <= candidates <= 100")
        if self.max_turns_kept < 1:
            raise ValueError("AssistantConfig: max_turns_kept must be >= 1")
        if not self.generation_timeout_s > 0:
            raise ValueError("AssistantConfig: generation_timeout_s must be positive")


@dataclass(frozen=True)
class Parts:
    """The loaded collaborators. ``explainer.writer is None`` means facts-only explanations
    (no LLM); ``describer`` is the multimodal LLM that reads pictures, or None."""

    search: ProductSearch
    explainer: Explainer
    describer: object | None = None  # an MLLMRunner
    generator: ImageGenerator | None = None
    image_limits: ImageLimits = DEFAULT_LIMITS
    status: dict[str, str] = field(default_factory=dict)


class Shop:
    """The parts plus what sessions share at run time: one decode at a time, the facet cache,
    the image-generation worker."""

    def __init__(self, parts: Parts, cfg: AssistantConfig = AssistantConfig()):
        self.parts = parts
        self.cfg = cfg
        self.llm_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._facet_cache: dict = {}
        self._gen_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-generation")

    @property
    def search(self) -> ProductSearch:
        return self.parts.search

    @property
    def store(self) -> ProductStore:
        return self.parts.search.store

    @property
    def explainer(self) -> Explainer:
        return self.parts.explainer

    @property
    def writes_with_llm(self) -> bool:
        return self.parts.explainer.writer is not None

    @functools.cached_property
    def request_search(self) -> ProductSearch:
        """The search a request in force runs on. It re-reads the request's own query text (catalog
        names and the shopper's descriptive words), which an LLM reader has read already: the
        deterministic reader behind it does that (no second LLM call per turn)."""
        search = self.parts.search
        words = words_reader(search.parser)
        return search if words is search.parser else ProductSearch(search.store, search.embedder, words, search.cfg)

    def retrieve(self, query: str | None, image: Image.Image | None, filt: ProductFilter,
                 exclude: tuple[str, ...] = (), soft: ProductFilter | None = None, sort: str | None = None,
                 edits: Edits | None = None) -> list[Hit]:
        return self.request_search.run(query, image, filt, k=self.cfg.candidates, exclude_ids=exclude, soft=soft,
                                       sort=sort, edits=edits).hits

    def facet_counts(self, filt: ProductFilter, attrs: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Facet counts of (a sample of up to 1500) products under ``filt``, cached per filter."""
        return self._cached((filt, attrs), lambda: facet_counts(self.store, to_where(filt), attrs, limit=1500))

    def typical_price(self, filt: ProductFilter) -> float | None:
        """The median price of (up to 5000 of) the products under ``filt``, cached per filter."""
        return self._cached(("price", filt), lambda: median_price(self.store, to_where(filt)))

    def price_floor(self, filt: ProductFilter, n: int = 5) -> float | None:
        """The ``n``-th lowest price under ``filt`` (a cap below it leaves fewer than ``n``), cached per filter."""
        return self._cached(("floor", filt, n), lambda: nth_lowest_price(self.store, to_where(filt), n))

    def _cached(self, key, compute):
        with self._cache_lock:
            if key in self._facet_cache:
                return self._facet_cache[key]
        value = compute()
        with self._cache_lock:
            if len(self._facet_cache) > 512:
                self._facet_cache.clear()
            self._facet_cache[key] = value
        return value

    def load_image(self, image: ImageSource) -> Image.Image:
        return load_image(image, self.parts.image_limits, name="uploaded image" if isinstance(image, bytes) else None)

    def product_image(self, product: Product) -> Image.Image | None:
        if not product.image:
            return None
        try:
            return self.load_image(product.image)
        except ImageError as exc:
            logger.warning("reference product %s: %s", product.id, exc)
            return None

    def picture(self, text: str, product: Product | None, photo: Image.Image | None) -> GeneratedPicture:
        """An image for ``text`` (try-on, in-room, imagine-then-search), within the timeout."""
        generator = self.parts.generator
        if generator is None:
            return GeneratedPicture("image generation is not configured")
        folder = tempfile.mkdtemp(prefix="shopassist-photo-") if photo is not None else None
        photo_path = None
        if folder is not None:  # the generators take paths; the copy is removed once generation ends
            photo_path = str(Path(folder) / "photo.png")
            photo.save(photo_path)
        draws = self.draws_kind if getattr(generator, "catalog_only", False) else None
        future = self._gen_pool.submit(respond_to_image_request, text, product_ref(product) if product else None,
                                       photo_path, generator, self._imagined_search, draws, self.kind_words)
        if folder is not None:
            future.add_done_callback(lambda _: shutil.rmtree(folder, ignore_errors=True))
        try:
            picture = future.result(timeout=self.cfg.generation_timeout_s)
        except FutureTimeout:
            logger.warning("image generation took over %.0f s; answering without it", self.cfg.generation_timeout_s)
            return GeneratedPicture(f"The image generator did not answer within {self.cfg.generation_timeout_s:.0f} s; "
                                    "please try again later.")
        except Exception as exc:  # a generator failure must not end the conversation
            logger.exception("image generation failed")
            return GeneratedPicture(f"The picture could not be made ({type(exc).__name__}: {exc}). "
                                    "You can keep shopping, or try again.")
        if picture is None:
            return GeneratedPicture("no image was asked for")
        return replace(picture, product_id=product.id if product else None)

    def draws_kind(self, description: str) -> bool:
        return names_a_kind(self.search.parser, description)

    def kind_words(self, description: str) -> str | None:
        """The kind of product and who it is for, in the catalog's words ("Dresses for Women"):
        what an imagined picture is searched within when nothing has everything the words ask."""
        said = self.search.parser.parse(description).filter
        if not said.article_types:
            return None
        who = f" for {' or '.join(said.genders)}" if said.genders else ""
        return f"{' or '.join(said.article_types)}{who}"

    def _imagined_search(self, text: str | None, image: Image.Image | None) -> list[ShownProduct]:
        hits = self.search.search(text, image, k=self.cfg.shown)
        ref = "the imagined picture" if image is not None else None
        return [card(i + 1, h, matches_for(h.product, Constraints(), image_reference=ref)) for i, h in enumerate(hits)]


def card(rank: int, hit: Hit, matches, score: float | None = None) -> ShownProduct:
    """A shown product with its facts-only explanation."""
    return ShownProduct(rank, hit.product, round(hit.score if score is None else score, 4),
                        facts_explanation(matches), hit.signals)
