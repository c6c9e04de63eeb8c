"""The assistant a shopper (or an agent) talks to: the stateless calls (search, recommend,
describe a picture, visualise a product) and :meth:`Assistant.new_session` for conversations.

>>> from assistant import Settings, build_assistant, load_parts
>>> shop = build_assistant(load_parts(Settings()))
>>> session = shop.new_session(user="ana")
>>> reply = session.send("black sneakers for women under 50")

A conversation's turn is :mod:`assistant.pipeline` (understand -> retrieve -> re-rank ->
explain -> reply); :mod:`assistant.session` holds its state; :mod:`assistant.turn` is the
handle that streams it. The concrete parts are wired in :mod:`assistant.services`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from adapters.imaging import ImageSource
from adapters.mllm.runner import ChatMessage
from assistant.claims import sentences
from assistant.dialogue import Constraints
from assistant.explain import Explainer, Match, matches_for
from assistant.imagine import GeneratedPicture
from assistant.pipeline import DEFAULT_STAGES, Stages, visualise_prompt
from assistant.replies import ShownProduct
from assistant.session import Session
from assistant.shop import AssistantConfig, Shop, card
from assistant.state import UserProfile
from retrieval.catalog import Product
from retrieval.filters import ProductFilter
from retrieval.query_parser import QueryError
from retrieval.search import Hit
from retrieval.wording import noun_phrase

logger = logging.getLogger(__name__)

__all__ = ["Assistant", "AssistantConfig", "ImageDescription", "Session", "UserProfile"]


@dataclass(frozen=True)
class ImageDescription:
    """What a picture shows. ``source`` says whose words ``text`` is: ``"model"`` (the MLLM's
    sentence, every claim in it agreeing with the picture's reading), ``"model, corrected"``
    (the MLLM's sentence with the claims that disagreed repaired from the reading) or
    ``"reading"`` (the reading in words leads: the model's sentence was dropped, or did not say
    the colour and the kind; the model's sentences that passed the check follow)."""

    text: str
    attributes: dict[str, str]  # the picture's reading: the tuned tower's heads, else its nearest products' vote
    similar: list[ShownProduct]
    source: Literal["model", "model, corrected", "reading"] = "reading"


class Assistant:
    """Holds the shared, loaded parts (a :class:`~assistant.shop.Shop`); sessions hold each
    shopper's conversation. Built by :func:`assistant.services.build_assistant`."""

    def __init__(self, shop: Shop, stages: Stages = DEFAULT_STAGES):
        self.shop = shop
        self.stages = stages

    # --- what callers read ------------------------------------------------------------
    @property
    def cfg(self) -> AssistantConfig:
        return self.shop.cfg

    @property
    def status(self) -> dict[str, str]:
        return dict(self.shop.parts.status)

    @property
    def explainer(self) -> Explainer:
        return self.shop.explainer

    @property
    def describer(self):
        return self.shop.parts.describer

    @property
    def generator(self):
        return self.shop.parts.generator

    @property
    def llm_lock(self):
        """One decode at a time (LangChain wrappers over the same model share it)."""
        return self.shop.llm_lock

    @property
    def image_limits(self):
        return self.shop.parts.image_limits

    @property
    def store(self):
        return self.shop.store

    @property
    def search_engine(self):
        return self.shop.search

    @property
    def vocabulary(self):
        """The catalog's facet values the store was built with (colours, article types, ...)."""
        return self.shop.search.parser.vocab

    def new_session(self, user: str | UserProfile | None = None) -> Session:
        profile = UserProfile(user) if isinstance(user, str) else user
        return Session(self.shop, self.stages, profile)

    def load_image(self, image: ImageSource) -> Image.Image:
        return self.shop.load_image(image)

    def facet_counts(self, filt: ProductFilter, attrs: tuple[str, ...]) -> dict[str, dict[str, int]]:
        return self.shop.facet_counts(filt, attrs)

    # --- stateless calls (for agents) ------------------------------------------------
    def search(self, text: str | None = None, image: ImageSource | None = None,
               filters: ProductFilter | None = None, k: int = 10) -> list[ShownProduct]:
        """Products for a text and/or image query, each with a facts-only explanation.

        Raises:
            QueryError: empty or over-long text, k out of range.
            ImageError: an unreadable or oversized image.
        """
        pil = self.load_image(image) if image is not None else None
        result = self.shop.search.run(text, pil, filters, k=k)
        photo = "your photo" if pil is not None else None
        return [card(i + 1, h, matches_for(h.product, Constraints(result.filter), image_reference=photo))
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
            reasons = (Match("feedback", why, True),) + matches_for(m.product, Constraints())
            out.append(card(len(out) + 1, Hit(m.product, m.similarity, ("image",)), reasons))
            if len(out) == k:
                break
        return out

    def describe_image(self, image: ImageSource, question: str = "Describe this product.") -> ImageDescription:
        """What the picture shows: the MLLM's words, checked against the picture's reading (the
        same reading that composed search uses, so the words agree with the products beside
        them), plus that reading and the closest catalog products."""
        pil = self.load_image(image)
        look = self.shop.search.look_at(pil)
        attrs = {k: v for k, v in (("article_type", look.article_type), ("base_colour", look.colour),
                                   ("gender", look.gender), ("usage", look.usage)) if v}
        result = self.shop.search.run(None, pil, None, k=5)
        similar = [card(i + 1, h, matches_for(h.product, Constraints(), image_reference="your photo"))
                   for i, h in enumerate(result.hits)]
        read = Product("image", "", base_colour=look.colour, article_type=look.article_type, gender=look.gender,
                       usage=look.usage)
        if self.describer is not None and attrs:
            with self.llm_lock:
                raw = self.describer.generate([ChatMessage("user", question, image=pil)], max_new_tokens=48)
            checked = self.explainer.checker.check(raw, read)
            said = {c.kind for c in self.explainer.checker.claims(checked.text, read)}
            if not checked.dropped and {"colour", "article_type"} <= said:
                return ImageDescription(checked.text, attrs, similar, "model, corrected" if checked.repaired else "model")
            # what the model kept does not say what the picture is: the reading says it, and the model's
            # sentences that say something else (the occasion) follow
            rest = [x for x in sentences(checked.text)
                    if not {c.kind for c in self.explainer.checker.claims(x, read)} & {"colour", "article_type", "gender"}]
            return ImageDescription(" ".join([_reading_sentence(read), *rest]), attrs, similar)
        return ImageDescription(_reading_sentence(read) if attrs else "No clear match in the catalog.", attrs, similar)

    def visualise(self, product_id: str, mode: Literal["try_on", "in_room", "imagine"] = "try_on",
                  photo: ImageSource | None = None, text: str | None = None) -> GeneratedPicture:
        """An image of a catalog product on the shopper / in their room, or an imagined item."""
        products = self.store.get([product_id])
        if not products:
            raise QueryError(f"unknown product id {product_id!r}")
        prompt = text or visualise_prompt(products[0], mode)
        return self.shop.picture(prompt, products[0], self.load_image(photo) if photo is not None else None)


def _reading_sentence(read: Product) -> str:
    """"It looks like a pair of black casual shoes for men." from what the picture reads as."""
    who = f" for {read.gender.lower()}" if read.gender and read.gender != "Unisex" else ""
    return f"It looks like {noun_phrase(read)}{who}."
