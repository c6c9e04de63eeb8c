"""The assistant a shopper (or an agent) talks to.

>>> assistant = Assistant.from_settings()            # embedded default models, the local store
>>> session = assistant.new_session(user="ana")
>>> reply = session.send("black sneakers for women under 50")
>>> reply = session.send("cheaper")                    # constraints accumulate
>>> session.feedback(reply.products[0].product.id, liked=True)
>>> print(reply.to_json())

Each turn our code runs the steps (understand -> retrieve -> re-rank -> explain); the LLM
only writes words, which are checked against the catalog before they are shown. A turn can
be streamed: ``turn = session.start(text, image)`` has ``turn.products`` at once,
``turn.stream()`` yields the reply text piece by piece, ``turn.finish()`` returns the
:class:`Reply` with the LLM-written, checked explanations.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from adapters.imaging import DEFAULT_LIMITS, ImageError, ImageLimits, ImageSource, load_image
from adapters.output.adaptor import detect_mode
from assistant.dialogue import (Clarification, Constraints, Interpretation, interpret, resolve_reference,
                                strip_injection)
from assistant.explain import Explainer, Explanation, Match, StreamText, facts_sentence, matches_for
from assistant.imagine import product_ref, respond_to_image_request
from assistant.policy import PolicyConfig, clarification, relaxations, rerank
from assistant.replies import GeneratedPicture, Reply, ShownProduct
from retrieval.catalog import Product
from retrieval.filters import ProductFilter, to_where
from retrieval.query_parser import QueryError, check_query_text
from retrieval.search import Hit, ProductSearch
from retrieval.store import facet_counts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantConfig:
    shown: int = 5  # products per reply
    candidates: int = 30  # retrieved before re-ranking
    max_turns_kept: int = 20  # history is trimmed to this many turns (memory stays bounded)
    generation_timeout_s: float = 120.0  # an image request answers "timed out" after this long
    explanations: Literal["llm", "facts"] = "llm"
    policy: PolicyConfig = PolicyConfig()

    def __post_init__(self) -> None:
        if not 1 <= self.shown <= self.candidates <= 100:
            raise ValueError("AssistantConfig: need 1 <= shown <= candidates <= 100")
        if self.max_turns_kept < 1:
            raise ValueError("AssistantConfig: max_turns_kept must be >= 1")
        if not self.generation_timeout_s > 0:
            raise ValueError("AssistantConfig: generation_timeout_s must be positive")


@dataclass(frozen=True)
class UserProfile:
    """A shopper's past: viewed and bought product ids. The sample catalog has no real
    users, so every history used in demos and evaluation is simulated (``simulated=True``)."""

    user_id: str
    viewed: tuple[str, ...] = ()
    bought: tuple[str, ...] = ()
    simulated: bool = False


@dataclass(frozen=True)
class Turn:
    number: int
    text: str | None
    had_image: bool
    reply_text: str
    shown_ids: tuple[str, ...]
    constraints: str


@dataclass(frozen=True)
class ImageDescription:
    text: str  # the MLLM's description (checked), or the attributes read off neighbours
    attributes: dict[str, str]  # what the image's nearest catalog products agree on
    similar: list[ShownProduct]


class Assistant:
    """Holds the shared, loaded parts; sessions hold each shopper's conversation."""

    def __init__(self, search: ProductSearch, explainer: Explainer, *, describer=None, generator=None,
                 image_limits: ImageLimits = DEFAULT_LIMITS, cfg: AssistantConfig = AssistantConfig(),
                 status: dict[str, str] | None = None):
        self.search_engine = search
        self.store = search.store
        self.explainer = explainer
        self.describer = describer  # an MLLMRunner (image -> words), or None
        self.generator = generator
        self.image_limits = image_limits
        self.cfg = cfg
        self.status = dict(status or {})
        self.llm_lock = threading.Lock()  # one decode at a time (public: LangChain wrappers share it)
        self._cache_lock = threading.Lock()
        self._gen_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-generation")
        self._facet_cache: dict = {}

    @classmethod
    def from_settings(cls, settings=None, **overrides) -> "Assistant":
        """The assistant the settings describe (see :func:`assistant.services.build_assistant`)."""
        from assistant.services import build_assistant
        from assistant.settings import Settings

        return build_assistant(settings or Settings(), **overrides)

    def new_session(self, user: str | UserProfile | None = None) -> "Session":
        profile = UserProfile(user) if isinstance(user, str) else user
        return Session(self, profile)

    # --- stateless calls (for agents) ------------------------------------------------
    def search(self, text: str | None = None, image: ImageSource | None = None,
               filters: ProductFilter | None = None, k: int = 10) -> list[ShownProduct]:
        """Products for a text and/or image query, each with a facts-only explanation.

        Raises:
            QueryError: empty or over-long text, k out of range.
            ImageError: an unreadable or oversized image.
        """
        pil = self.load_image(image) if image is not None else None
        result = self.search_engine.run(text, pil, filters, k=k)
        photo = "your photo" if pil is not None else None
        return [self._shown(i + 1, h.product, h.score, Constraints(result.filter), h.signals, photo)
                for i, h in enumerate(result.hits)]

    def recommend(self, product_id: str | None = None, user: UserProfile | None = None,
                  k: int = 5) -> list[ShownProduct]:
        """Products like ``product_id``, or for a user's history (viewed and bought items)."""
        seeds = [product_id] if product_id else list((user.bought + user.viewed) if user else ())
        if not seeds:
            raise QueryError("recommend needs a product id or a user with a history")
        vecs = self.store.get_vectors(list(dict.fromkeys(seeds)), space="image")
        if not vecs:
            raise QueryError(f"unknown product id(s): {', '.join(seeds)}")
        centre = np.mean(list(vecs.values()), axis=0)
        centre /= np.linalg.norm(centre) + 1e-8
        matches = self.store.query(centre, space="image", where=None, k=k + len(seeds))
        seed_products = self.store.get(list(vecs))
        out = []
        for m in matches:
            if m.product.id in vecs:
                continue
            why = (f"similar to {seed_products[0].title}" if product_id and seed_products
                   else "close to what you viewed and bought")
            matches_ = (Match("feedback", why, True),) + matches_for(m.product, Constraints())
            expl = Explanation(facts_sentence(matches_), matches_, "facts", mentions_request=True)
            out.append(ShownProduct(len(out) + 1, m.product, round(m.similarity, 4), expl, ("image",)))
            if len(out) == k:
                break
        return out

    def describe_image(self, image: ImageSource, question: str = "Describe this product.") -> ImageDescription:
        """What the picture shows: the MLLM's words (checked against what the nearest catalog
        products agree on) plus those attributes and the closest products."""
        pil = self.load_image(image)
        result = self.search_engine.run(None, pil, None, k=5)
        attrs = _agreed_attributes([h.product for h in result.hits])
        similar = [self._shown(i + 1, h.product, h.score, Constraints(), h.signals, "your photo")
                   for i, h in enumerate(result.hits)]
        text = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in attrs.items()) or "no clear match in the catalog"
        if self.describer is not None:
            from adapters.mllm.runner import ChatMessage

            with self.llm_lock:
                raw = self.describer.generate([ChatMessage("user", question, image=pil)], max_new_tokens=48)
            pseudo = Product("image", "", base_colour=attrs.get("base_colour"), article_type=attrs.get("article_type"),
                             gender=attrs.get("gender"))
            checked = self.explainer.checker.check(raw, pseudo) if attrs else None
            if checked is not None and checked.text:
                text = checked.text
        return ImageDescription(text, attrs, similar)

    def visualise(self, product_id: str, mode: Literal["try_on", "in_room", "imagine"] = "try_on",
                  photo: ImageSource | None = None, text: str | None = None) -> GeneratedPicture:
        """An image of a catalog product on the shopper / in their room, or an imagined item."""
        products = self.store.get([product_id])
        if not products:
            raise QueryError(f"unknown product id {product_id!r}")
        prompt = text or {"try_on": "try it on me", "in_room": "show it in my room",
                          "imagine": f"imagine {products[0].title}"}[mode]
        return self._picture(prompt, products[0], self.load_image(photo) if photo is not None else None)

    @property
    def vocabulary(self):
        """The catalog's facet values the store was built with (colours, article types, ...)."""
        return self.search_engine.parser.vocab

    # --- shared helpers ---------------------------------------------------------------
    def facet_counts(self, filt: ProductFilter, attrs: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Facet counts of (a sample of up to 1500) products under ``filt``, cached per filter."""
        key = (filt, attrs)
        with self._cache_lock:
            if key in self._facet_cache:
                return self._facet_cache[key]
        counts = facet_counts(self.store, to_where(filt), attrs, limit=1500)
        with self._cache_lock:
            if len(self._facet_cache) > 512:
                self._facet_cache.clear()
            self._facet_cache[key] = counts
        return counts

    def load_image(self, image: ImageSource) -> Image.Image:
        return load_image(image, self.image_limits, name="uploaded image" if isinstance(image, bytes) else None)

    def _shown(self, rank: int, product: Product, score: float, constraints: Constraints,
               signals: tuple[str, ...], image_ref: str | None, reasons: tuple[str, ...] = ()) -> ShownProduct:
        """A product with its facts-only explanation; ``image_ref`` names the picture it looks like."""
        matches = matches_for(product, constraints, image_reference=image_ref, reasons=reasons)
        expl = Explanation(facts_sentence(matches), matches, "facts", mentions_request=any(m.asked for m in matches))
        return ShownProduct(rank, product, score, expl, signals)

    def _picture(self, text: str, product: Product | None, photo: Image.Image | None) -> GeneratedPicture:
        if self.generator is None:
            return GeneratedPicture("image generation is not configured", None)
        photo_path = None
        if photo is not None:  # the generators take paths; the copy is removed once generation ends
            folder = tempfile.mkdtemp(prefix="shopassist-photo-")
            photo_path = str(Path(folder) / "photo.png")
            photo.save(photo_path)

        def search(t, im):
            return self.search_engine.search(t, im, k=self.cfg.shown)

        future = self._gen_pool.submit(respond_to_image_request, text, product_ref(product) if product else None,
                                       photo_path, self.generator, search)
        if photo_path is not None:
            future.add_done_callback(lambda _: shutil.rmtree(folder, ignore_errors=True))
        try:
            turn = future.result(timeout=self.cfg.generation_timeout_s)
        except FutureTimeout:
            logger.warning("image generation took over %.0f s; answering without it", self.cfg.generation_timeout_s)
            return GeneratedPicture(f"The image generator did not answer within {self.cfg.generation_timeout_s:.0f} s; "
                                    "please try again later.", getattr(self.generator, "name", None))
        if turn is None:
            return GeneratedPicture("no image was asked for", None)
        looks_like = "the imagined picture" if turn.image is not None else None
        found = [self._shown(i + 1, h.product, h.score, Constraints(), h.signals, looks_like)
                 for i, h in enumerate(turn.hits or [])]
        return GeneratedPicture(turn.message, turn.backend, turn.image, product.id if product else None, found)


def _agreed_attributes(products: list[Product]) -> dict[str, str]:
    out = {}
    for attr in ("article_type", "base_colour", "gender"):
        counts = Counter(getattr(p, attr) for p in products if getattr(p, attr))
        if counts:
            value, n = counts.most_common(1)[0]
            if n >= max(2, len(products) // 2):
                out[attr] = value
    return out


class PendingTurn:
    """A turn whose products are ready; the reply text streams; ``finish`` completes it."""

    def __init__(self, session: "Session", reply: Reply, request: str, lead: str, image_ref: str | None,
                 reasons: dict[str, tuple[str, ...]], constraints: Constraints | None = None):
        self.session = session
        self._reply = reply
        self._request = request
        self._lead = lead
        self._image_ref = image_ref
        self._reasons = reasons
        self._constraints = constraints or session.constraints
        self._text = StreamText()
        self._streamed = False
        self._gen: Iterator[str] | None = None
        self._final: Reply | None = None

    @property
    def products(self) -> list[ShownProduct]:
        return self._reply.products

    @property
    def preliminary(self) -> Reply:
        return self._reply

    def stream(self) -> Iterator[str]:
        """The reply text, piece by piece (the LLM's part as it is decoded and checked).
        A stream left unfinished is closed by :meth:`finish` (releasing the model)."""
        if self._streamed:
            raise RuntimeError("this turn's text was already streamed")
        self._streamed = True
        self._gen = self._pieces()
        return self._gen

    def _pieces(self) -> Iterator[str]:
        a = self.session.assistant
        if not self.products or a.cfg.explanations == "facts":
            yield from self._text(iter([self._lead]))
            return
        with a.llm_lock:
            yield from self._text(a.explainer.intro_stream(self._request, [s.product for s in self.products],
                                                           self._lead))

    def finish(self) -> Reply:
        if self._final is not None:
            return self._final
        if not self._streamed:
            for _ in self.stream():
                pass
        elif self._gen is not None:
            self._gen.close()  # a consumer that stopped early: its text so far is the reply text
        a = self.session.assistant
        products = self.products
        if products and a.cfg.explanations == "llm":
            constraints = self._constraints
            items = [(s.product, matches_for(s.product, constraints, image_reference=self._image_ref,
                                             reasons=self._reasons.get(s.product.id, ()))) for s in products]
            with a.llm_lock:
                expls = a.explainer.explain(self._request, items, asked=self.session.constraints.filter)
            products = [replace(s, explanation=e) for s, e in zip(products, expls)]
        self._final = replace(self._reply, text=self._text.text or self._lead, products=products)
        self.session._record(self._final)
        return self._final


class Session:
    """One shopper's conversation. Not shared between threads; many sessions share one Assistant."""

    def __init__(self, assistant: Assistant, user: UserProfile | None = None):
        self.assistant = assistant
        self.user = user
        self.id = uuid.uuid4().hex[:12]
        self._input: tuple[str | None, bool] = (None, False)  # the message being answered, for the history
        self.reset()

    def reset(self) -> None:
        self.constraints = Constraints()
        self.reference_image: Image.Image | None = None
        self.reference_label: str | None = None  # "your photo" or a product title
        self.reference_product: Product | None = None
        self.shown: list[Product] = []
        self.liked: dict[str, bool] = {}  # product id -> liked (True) / disliked (False)
        self.pending: Clarification | None = None
        self.asked_this_subject = False
        self.turns: deque[Turn] = deque(maxlen=self.assistant.cfg.max_turns_kept)
        self.turn_count = 0

    # --- public API -----------------------------------------------------------------
    def send(self, text: str | None = None, image: ImageSource | None = None) -> Reply:
        """One turn, complete (reply text and checked explanations)."""
        return self.start(text, image).finish()

    def feedback(self, product_id: str, liked: bool) -> None:
        """Like or dislike a product: steers the next results (disliked ones are not shown again)."""
        if not isinstance(product_id, str) or not product_id:
            raise ValueError("feedback needs a product id")
        self.liked[product_id] = bool(liked)

    def refresh(self) -> PendingTurn:
        """Search again with the constraints in force (after editing them)."""
        self.turn_count += 1
        self._input = (None, False)
        return self._search_turn(None, None, Interpretation("search", self.constraints))

    def edit_filter(self, **changes) -> PendingTurn:
        """Change the filters in force (``colours=()`` removes the colour filter, ``max_price=None``
        the price cap) and search again."""
        self.constraints = replace(self.constraints, filter=replace(self.constraints.filter, **changes))
        return self.refresh()

    def start(self, text: str | None = None, image: ImageSource | None = None) -> PendingTurn:
        """Understand and retrieve now; the reply text streams from the returned turn."""
        self.turn_count += 1
        self._input = (text if isinstance(text, str) else None, image is not None)
        try:
            check_query_text(text)
            pil = self.assistant.load_image(image) if image is not None else None
        except (QueryError, ImageError) as exc:
            return self._done(self._message(f"I couldn't use that: {exc}", error=str(exc)))
        text = (text or "").strip() or None
        flagged = False
        if text:
            text, flagged = strip_injection(text)
            text = text or None
            if flagged and text is None and pil is None:
                return self._done(self._message("I can help you find products: tell me what you are looking for.",
                                                error="message ignored: it only addressed the assistant's instructions"))
        if text and not flagged and detect_mode(text) is not None:  # an injected message starts no tool
            return self._done(self._picture_turn(text, pil))
        interp = interpret(text, self.constraints, self.shown, self.assistant.search_engine.parser,
                           has_image=pil is not None)
        if interp.command == "empty":
            return self._done(self._message("Tell me what you are looking for, or upload a photo of something you like.",
                                            error="empty message"))
        if interp.command == "reset":
            self.reset()
            self.turn_count = 1
            return self._done(self._message("Starting over: what are you looking for?"))
        return self._search_turn(text, pil, interp)

    # --- the steps ------------------------------------------------------------------
    def _search_turn(self, text: str | None, pil: Image.Image | None, interp: Interpretation) -> PendingTurn:
        a = self.assistant
        skip = interp.command == "skip" and self.pending is not None
        if interp.new_subject:
            interp = self._check_carried_gender(interp)
            self.asked_this_subject = False
            self.reference_product = None
            if self.reference_label != "your photo":  # a product as reference belongs to the old subject
                self.reference_image = self.reference_label = None
        self.constraints = interp.constraints
        if pil is not None:
            self.reference_image, self.reference_label, self.reference_product = pil, "your photo", None
        elif interp.drop_image:
            self.reference_image = self.reference_label = None
        if interp.use_reference_image and interp.reference is not None:
            self.reference_product = interp.reference
            self.reference_image = _product_image(interp.reference, a)
            self.reference_label = interp.reference.title if self.reference_image is not None else None
        query = self.constraints.query_text()
        image = self.reference_image
        if query is None and image is None:
            if interp.command == "skip":
                return self._done(self._message("Fine. What kind of item should I look for?"))
            return self._done(self._message("What kind of item are you looking for? For example 'black sneakers under 50'."))
        exclude = tuple(pid for pid, liked in self.liked.items() if not liked)
        hits, relaxed, used = self._retrieve(query, image, self.constraints.filter, exclude)
        used_constraints = replace(self.constraints, filter=used)
        request = text or "(a photo)"
        if not skip and not self.asked_this_subject and image is None and relaxed is None:
            question = clarification(self.constraints.filter, self._facet_counts(hits), a.cfg.policy)
            if question is not None:
                self.pending, self.asked_this_subject = question, True
                return self._done(self._message(question.question, clarification=question))
        self.pending = None
        ranked = self._rerank(hits)[: a.cfg.shown]
        image_ref = self.reference_label if image is not None else None
        if image_ref and image_ref != "your photo":
            image_ref = f"'{image_ref}'"
        shown = [a._shown(i + 1, p, round(s, 4), used_constraints, h.signals, image_ref, reasons)
                 for i, (p, s, reasons, h) in enumerate(ranked)]
        self.shown = [s.product for s in shown]
        lead = _lead(used_constraints, len(shown), image_ref, relaxed, interp.notes)
        reply = Reply(lead, shown, self.constraints.describe(), asdict(self.constraints.filter), self.turn_count,
                      relaxation=relaxed)
        return PendingTurn(self, reply, request, lead, image_ref, {p.id: r for p, _, r, _ in ranked}, used_constraints)

    def _check_carried_gender(self, interp: Interpretation) -> Interpretation:
        """A new subject keeps who the shopper buys for, unless the catalog has no such item
        for them ("watches for men", then "red dresses"): then that gender is dropped."""
        f = interp.constraints.filter
        stated = interp.parsed is not None and bool(interp.parsed.filter.genders)
        if stated or not f.genders or not f.article_types:
            return interp
        counts = self.assistant.facet_counts(ProductFilter(article_types=f.article_types), ("gender",))["gender"]
        if any(counts.get(g) for g in f.genders) or not counts:
            return interp
        dropped = replace(interp.constraints, filter=replace(f, genders=()))
        return replace(interp, constraints=dropped)

    def _retrieve(self, query, image, filt: ProductFilter, exclude) -> tuple[list[Hit], str | None, ProductFilter]:
        """Candidates under ``filt``; when there are none, under the nearest looser filter
        (the shopper's constraints stay as they are; the reply says what was loosened)."""
        a = self.assistant
        hits = a.search_engine.run(query, image, filt, k=a.cfg.candidates, exclude_ids=exclude).hits
        if hits:
            return hits, None, filt
        for looser, how in relaxations(filt):
            loose_query = Constraints(looser, self.constraints.words).query_text() if query else None
            hits = a.search_engine.run(loose_query, image, looser, k=a.cfg.candidates, exclude_ids=exclude).hits
            if hits:
                return hits, f"Nothing matches {filt.describe()}; here are the nearest ones {how}.", looser
        return [], f"Nothing in the catalog matches {filt.describe()}.", filt

    def _facet_counts(self, hits: list[Hit]) -> dict[str, dict[str, int]]:
        """What the request could mean: the catalog's facet counts under the filters, or, when
        the shopper also used descriptive words ("gift", "floral"), the candidates' facets."""
        attrs = ("article_type", "gender", "usage")
        if self.constraints.words:
            return {a: dict(Counter(v for h in hits if (v := getattr(h.product, a)))) for a in attrs}
        return self.assistant.facet_counts(self.constraints.filter, attrs)

    def _rerank(self, hits: list[Hit]):
        a = self.assistant
        ids = [h.product.id for h in hits]
        liked_ids = [pid for pid, v in self.liked.items() if v]
        disliked_ids = [pid for pid, v in self.liked.items() if not v]
        history = list(self.user.bought + self.user.viewed) if self.user else []
        if not (liked_ids or disliked_ids or history):
            return [(h.product, h.score, (), h) for h in hits]
        vecs = a.store.get_vectors(list(dict.fromkeys(ids + liked_ids + disliked_ids + history)), space="image")
        by_id = {h.product.id: h for h in hits}
        ranked = rerank([(h.product, h.score) for h in hits], vecs,
                        [vecs[i] for i in liked_ids if i in vecs], [vecs[i] for i in disliked_ids if i in vecs],
                        [vecs[i] for i in history if i in vecs], a.cfg.policy)
        return [(p, s, r, by_id[p.id]) for p, s, r in ranked]

    def _picture_turn(self, text: str, photo: Image.Image | None) -> Reply:
        product = resolve_reference(text, self.shown) or self.reference_product or (self.shown[0] if self.shown else None)
        picture = self.assistant._picture(text, product, photo)
        return self._message(picture.message, picture=picture)

    # --- bookkeeping ----------------------------------------------------------------
    def _message(self, text: str, *, error: str | None = None, clarification: Clarification | None = None,
                 picture: GeneratedPicture | None = None) -> Reply:
        return Reply(text, [], self.constraints.describe(), asdict(self.constraints.filter), self.turn_count,
                     clarification=clarification, picture=picture, error=error)

    def _done(self, reply: Reply) -> PendingTurn:
        turn = PendingTurn(self, reply, "", reply.text, None, {})
        turn._final = reply
        self._record(reply)
        return turn

    def _record(self, reply: Reply) -> None:
        text, had_image = self._input
        self.turns.append(Turn(reply.turn, text, had_image, reply.text, tuple(s.product.id for s in reply.products),
                               reply.constraints))


def _product_image(product: Product, a: Assistant) -> Image.Image | None:
    if not product.image:
        return None
    try:
        return a.load_image(product.image)
    except ImageError as exc:
        logger.warning("reference product %s: %s", product.id, exc)
        return None


def _lead(c: Constraints, n: int, image_ref: str | None, relaxed: str | None, notes: tuple[str, ...]) -> str:
    if n == 0:
        return relaxed or "I found nothing for that."
    f = c.filter
    what = " or ".join(t.lower() for t in f.article_types) or "products"
    colour = " or ".join(x.lower() for x in f.colours)
    bits = [f"{colour} {what}".strip()]
    if c.words:
        bits.append("(" + " ".join(c.words) + ")")
    if f.genders:
        bits.append("for " + " or ".join(g.lower() for g in f.genders))
    if f.usages:
        bits.append("for " + " or ".join(u.lower() for u in f.usages) + " wear")
    if f.exclude_colours:
        bits.append("not " + " or ".join(x.lower() for x in f.exclude_colours))
    if f.min_price is not None and f.max_price is not None:
        bits.append(f"between ${f.min_price:g} and ${f.max_price:g}")
    elif f.max_price is not None:
        bits.append(f"under ${f.max_price:g}")
    elif f.min_price is not None:
        bits.append(f"over ${f.min_price:g}")
    if image_ref:
        bits.append(f"that look like {image_ref}")
    out = f"Here are {n} {' '.join(bits)}." if n > 1 else f"Here is one match: {' '.join(bits)}."
    if notes:
        out = f"({'; '.join(notes).capitalize()}.) {out}"
    if relaxed:
        out = f"{relaxed} {out}"
    return out
