"""One chat turn, top to bottom.

    message -> read -> understand -> retrieve -> (clarify) -> re-rank -> explain -> reply
                                                          then, streamed: intro -> explanations

:func:`run_turn` maps the session's state and one message to a :class:`Draft`: the next
state and a reply whose products are final and carry facts-only explanations. What the LLM
writes (the streamed intro, one sentence per product, both checked against the catalog) is
done later, by :class:`assistant.turn.TurnHandle`, through :func:`write_intro` and
:func:`write_explanations`, against the :class:`Request` snapshot the draft carries.

Each stage is a plain function over typed values, and :class:`Stages` names the five that
can be swapped (``Stages(understand=my_reader)``) without touching the others. Our code runs
the steps; the LLM only writes words.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from typing import Literal

from PIL import Image

from adapters.imaging import ImageError, ImageSource
from adapters.output.adaptor import detect_mode
from assistant.dialogue import Clarification, Constraints, Interpretation, interpret, resolve_reference, strip_injection
from assistant.compare import contrasts_for
from assistant.explain import matches_for
from assistant.imagine import GeneratedPicture
from assistant.lead import lead_sentence, request_phrase, words_shown
from assistant.llm_reader import reader_in_context
from assistant.policy import clarification, relaxations, rerank, theirs_first
from assistant.replies import Reply, ShownProduct
from assistant.shop import Shop, card
from assistant.state import Reference, SessionState, UserProfile
from assistant.stocked import keep_gender_if_stocked, kinds_they_wear, whom_the_kind_was_for
from retrieval.catalog import Product
from retrieval.colours import colour_distance
from retrieval.filters import ProductFilter, matches
from retrieval.query_parser import QueryError, check_query_text
from retrieval.search import Hit

logger = logging.getLogger(__name__)


# --- what flows between the stages ----------------------------------------------------
@dataclass(frozen=True)
class Incoming:
    """A message that passed the input checks; ``flagged``: it carried text addressed to the model."""

    text: str | None
    image: Image.Image | None
    flagged: bool = False


@dataclass(frozen=True)
class Understanding:
    interp: Interpretation  # what the message does
    state: SessionState  # the state with the request it leaves in force


@dataclass(frozen=True)
class Candidates:
    hits: list[Hit]
    relaxed: str | None  # what was loosened when nothing matched the request as stated
    used: ProductFilter  # the filter that found them


@dataclass(frozen=True)
class RankedHit:
    hit: Hit
    score: float
    reasons: tuple[str, ...] = ()  # from feedback and history ("like items you liked")


@dataclass(frozen=True)
class Request:
    """The snapshot a turn is explained against, taken when the products were found."""

    said: str  # the request in force, in words ("red tshirts for men under $30")
    constraints: Constraints  # as searched (the loosened filter when nothing matched)
    asked: ProductFilter  # the shopper's own filters
    image_ref: str | None  # how the picture of reference is named ("your photo")


@dataclass(frozen=True)
class PictureJob:
    """A picture to make when the turn finishes (it takes seconds)."""

    text: str
    product: Product | None
    photo: Image.Image | None


@dataclass(frozen=True)
class Draft:
    """A turn before the LLM writes: the reply so far and the state after the turn. With a
    ``request`` the LLM writes the words at finish; with a ``picture`` the picture is made."""

    reply: Reply
    state: SessionState
    request: Request | None = None
    picture: PictureJob | None = None


@dataclass(frozen=True)
class Stages:
    understand: Callable[[Shop, SessionState, Incoming], Understanding]
    retrieve: Callable[[Shop, SessionState], Candidates]
    rerank: Callable[[Shop, SessionState, UserProfile | None, Candidates], list[RankedHit]]
    explain: Callable[[Shop, Request, list[RankedHit]], list[ShownProduct]]
    reply: Callable[[SessionState, Request, list[ShownProduct], Candidates, Interpretation], Draft]


# --- the turn -------------------------------------------------------------------------
def run_turn(shop: Shop, stages: Stages, state: SessionState, user: UserProfile | None,
             text: str | None, image: ImageSource | None) -> Draft:
    """One message, from the shopper's words to the products on screen."""
    state = replace(state, turn=state.turn + 1)
    try:
        incoming = read_message(shop, text, image)
    except (QueryError, ImageError) as exc:
        return say(state, f"I couldn't use that: {exc}", error=str(exc))
    if incoming.flagged and incoming.text is None and incoming.image is None:
        return say(state, "I can help you find products: tell me what you are looking for.",
                   error="message ignored: it only addressed the assistant's instructions")
    if incoming.text and not incoming.flagged and detect_mode(incoming.text) is not None:
        return picture_turn(state, incoming)  # an injected message starts no tool
    understood = stages.understand(shop, state, incoming)
    if understood.interp.command == "empty":
        return say(state, "Tell me what you are looking for, or upload a photo of something you like.",
                   error="empty message")
    if understood.interp.command == "reset":
        return say(SessionState(turn=1), "Starting over: what are you looking for?")
    return search_turn(shop, stages, understood, user)


def refresh_turn(shop: Shop, stages: Stages, state: SessionState, user: UserProfile | None) -> Draft:
    """Search again with the request in force (after a filter was edited, or feedback given)."""
    state = replace(state, turn=state.turn + 1)
    understood = Understanding(Interpretation("search", state.constraints), state)
    return search_turn(shop, stages, understood, user)


def search_turn(shop: Shop, stages: Stages, understood: Understanding, user: UserProfile | None) -> Draft:
    state = understood.state
    answered_skip = understood.interp.command == "skip" and state.pending is not None
    if state.constraints.query_text() is None and state.reference is None:
        if understood.interp.command == "skip":
            return say(state, "Fine. What kind of item should I look for?")
        return say(state, "What kind of item are you looking for? For example 'black sneakers under 50'.")
    found = stages.retrieve(shop, state)
    question = None if answered_skip else clarify(shop, state, found)
    if question is not None:  # asked beside the best guesses, never instead of them
        state = replace(state, pending=question, asked_this_subject=True)
    ranked = stages.rerank(shop, state, user, found)[: shop.cfg.shown]
    image_ref = state.reference.label if state.reference is not None else None
    request = Request(request_phrase(state.constraints, image_ref), replace(state.constraints, filter=found.used),
                      state.constraints.filter, image_ref)
    shown = stages.explain(shop, request, ranked)
    draft = stages.reply(state, request, shown, found, understood.interp)
    if question is None:
        return draft
    reply = replace(draft.reply, text=f"{draft.reply.text} {question.question}", clarification=question)
    return replace(draft, reply=reply, state=replace(draft.state, pending=question))


def picture_turn(state: SessionState, incoming: Incoming) -> Draft:
    """"See it on me", "in my room", "imagine ...": the picture is made when the turn finishes."""
    product = resolve_reference(incoming.text, list(state.shown)) or state.focus or \
        (state.shown[0] if state.shown else None)
    draft = say(state, "Making the picture...")
    return replace(draft, picture=PictureJob(incoming.text, product, incoming.image))


# --- read -----------------------------------------------------------------------------
def read_message(shop: Shop, text: str | None, image: ImageSource | None) -> Incoming:
    """The message checked (length, image size and format) and stripped of text addressed to
    the model. Raises QueryError / ImageError, which the turn answers as bad input."""
    check_query_text(text)
    pil = shop.load_image(image) if image is not None else None
    text = (text or "").strip() or None
    flagged = False
    if text:
        text, flagged = strip_injection(text)
        text = text or None
    return Incoming(text, pil, flagged)


# --- understand -----------------------------------------------------------------------
def understand(shop: Shop, state: SessionState, incoming: Incoming) -> Understanding:
    """What the message changes (:func:`dialogue.interpret`, reading words with the shop's
    request reader): the request's facets, the picture of reference, the subject."""
    photo_in_force = state.reference is not None and state.reference.kind == "photo"
    reader = reader_in_context(shop.search.parser, state.constraints.filter)  # an LLM reader sees the request
    interp = interpret(incoming.text, state.constraints, list(state.shown), reader,
                       has_image=incoming.image is not None, photo_in_force=photo_in_force,
                       typical_price=shop.typical_price, price_floor=shop.price_floor)
    if interp.command in ("empty", "reset"):
        return Understanding(interp, state)
    reference, focus, asked = state.reference, state.focus, state.asked_this_subject
    interp = kinds_they_wear(shop, interp)
    interp = whom_the_kind_was_for(shop, interp, state.constraints.filter)
    if interp.new_subject:
        interp = keep_gender_if_stocked(shop, interp)
        focus, asked = None, False
        if reference is not None and reference.kind != "photo":  # a product as reference belongs to the old subject
            reference = None
    if incoming.image is not None:
        reference, focus = Reference("photo", incoming.image), None
    elif interp.drop_image:
        reference = None
    if interp.use_reference_image and interp.reference is not None:
        focus = interp.reference
        picture = shop.product_image(interp.reference)
        reference = Reference("product", picture, interp.reference) if picture is not None else None
    return Understanding(interp, replace(state, constraints=interp.constraints, reference=reference, focus=focus,
                                         asked_this_subject=asked))


# --- retrieve -------------------------------------------------------------------------
def retrieve(shop: Shop, state: SessionState) -> Candidates:
    """Candidates under the request's filter; when there are none, under the nearest looser
    filter (the shopper's request stays as it is; the reply says what was loosened)."""
    c = state.constraints
    query = c.query_text()
    image = state.reference.image if state.reference is not None else None
    exclude = tuple(state.disliked_ids)
    hits = shop.retrieve(query, image, c.filter, exclude, c.soft, c.sort, c.edits)
    if len(hits) < shop.cfg.shown and hits and not any(matches(c.filter, h.product) for h in hits):
        # only a few close ones (a girls' dress "for a party" that only unisex ones are): the page fills
        # from the nearest looser filter, as the lead says ("Nothing is exactly ...; here are the 5 closest")
        more, _, _ = _loosened(shop, c, query, image, exclude + tuple(h.product.id for h in hits))
        return Candidates(theirs_first(c.filter, hits + more), None, c.filter)
    if hits:
        return Candidates(hits, None, c.filter)
    asked = request_phrase(Constraints(c.filter))  # in the shopper's words, not the filter's syntax
    hits, looser, how = _loosened(shop, c, query, image, exclude)
    if hits:
        return Candidates(theirs_first(c.filter, hits), f"Nothing matches {asked}; here are the nearest ones {how}.",
                          looser)
    return Candidates([], f"Nothing in the catalog matches {asked}.", c.filter)


def _loosened(shop: Shop, c: Constraints, query: str | None, image, exclude: tuple[str, ...]
              ) -> tuple[list[Hit], ProductFilter, str]:
    """The hits under the nearest looser filter that has any, that filter, and how it was loosened;
    while the page is short, the next looser filters fill it, in order (berry dresses for a girl:
    one close to berry, then hers in other colours), the first filter and its words kept."""
    found: list[Hit] = []
    first: tuple[ProductFilter, str] | None = None
    for looser, how in relaxations(c.filter, keep=c.latest):  # what the shopper just said goes last
        loose_query = Constraints(looser, c.words).query_text() if query else None
        hits = shop.retrieve(loose_query, image, looser, exclude + tuple(h.product.id for h in found),
                             c.soft, c.sort, c.edits)
        if c.filter.colours and not looser.colours:  # other colours: the nearest to the one asked first
            hits = sorted(hits, key=lambda h: colour_distance(h.product.base_colour, c.filter.colours))
        first = first or ((looser, how) if hits else None)
        found += hits
        if len(found) >= shop.cfg.shown:
            break
    return (found, *first) if first else ([], c.filter, "")


# --- clarify --------------------------------------------------------------------------
def clarify(shop: Shop, state: SessionState, found: Candidates) -> Clarification | None:
    """One question, once per subject, when a text request could mean very different things."""
    if state.asked_this_subject or state.reference is not None or found.relaxed is not None:
        return None
    attrs = ("article_type", "gender", "usage")
    if state.constraints.words:  # descriptive words ("gift", "floral"): what the candidates are
        counts = {a: dict(Counter(v for h in found.hits if (v := getattr(h.product, a)))) for a in attrs}
    else:  # what the catalog holds under the filters
        counts = shop.facet_counts(state.constraints.filter, attrs)
    return clarification(state.constraints.filter, counts, shop.cfg.policy)


# --- re-rank --------------------------------------------------------------------------
def rerank_candidates(shop: Shop, state: SessionState, user: UserProfile | None,
                      found: Candidates) -> list[RankedHit]:
    """Feedback (likes, dislikes) and the shopper's history move candidates up or down."""
    liked, disliked = state.liked_ids, state.disliked_ids
    history = list(user.history) if user else []
    if not (liked or disliked or history):
        return [RankedHit(h, h.score) for h in found.hits]
    ids = [h.product.id for h in found.hits]
    vecs = shop.store.get_vectors(list(dict.fromkeys(ids + liked + disliked + history)), space="image")
    by_id = {h.product.id: h for h in found.hits}
    ranked = rerank([(h.product, h.score) for h in found.hits], vecs, [vecs[i] for i in liked if i in vecs],
                    [vecs[i] for i in disliked if i in vecs], [vecs[i] for i in history if i in vecs], shop.cfg.policy)
    return [RankedHit(by_id[p.id], s, r) for p, s, r in ranked]


# --- explain (facts) ------------------------------------------------------------------
def explain_facts(shop: Shop, request: Request, ranked: list[RankedHit]) -> list[ShownProduct]:
    """Each product with the facts that make it fit the request (computed once, here)."""
    return [card(i + 1, r.hit, matches_for(r.hit.product, request.constraints, image_reference=request.image_ref,
                                           reasons=r.reasons), r.score)
            for i, r in enumerate(ranked)]


# --- reply ----------------------------------------------------------------------------
def compose_reply(state: SessionState, request: Request, shown: list[ShownProduct], found: Candidates,
                  interp: Interpretation) -> Draft:
    """The reply on screen now: a lead sentence built from the request, and the products."""
    asked = request.constraints.filter
    adults = set(asked.genders) <= {"Men", "Women"} and asked.genders and "Unisex" not in asked.genders
    # a unisex product is one for him or her ("lipstick for my mom": the lipsticks are filed unisex)
    exact = replace(asked, genders=asked.genders + ("Unisex",)) if adults else asked
    close = sum(not matches(exact, s.product) for s in shown)
    kinds = tuple(t for t in asked.article_types if any(s.product.article_type == t for s in shown))
    if not asked.article_types and request.constraints.edits.complement:  # "what goes with this": what it found
        kinds = tuple(dict.fromkeys(s.product.article_type for s in shown if s.product.article_type))
    # the lead names the kinds shown of those asked ("mens underwear": briefs or trunks, not bras)
    said = replace(request.constraints, words=words_shown(request.constraints.words, (s.product.title for s in shown)),
                   filter=replace(asked, article_types=kinds or asked.article_types))
    lead = lead_sentence(said, len(shown), request.image_ref, found.relaxed, interp.notes, close)
    state = replace(state, shown=tuple(s.product for s in shown), pending=None)  # a question is set by the caller
    reply = Reply(lead, shown, state.constraints.describe(), asdict(state.constraints.filter), state.turn,
                  relaxation=found.relaxed)
    return Draft(reply, state, request)


def say(state: SessionState, text: str, *, error: str | None = None, clarification: Clarification | None = None,
        picture: GeneratedPicture | None = None) -> Draft:
    """A reply with no products (a question, an error, a picture): finished as it is."""
    reply = Reply(text, [], state.constraints.describe(), asdict(state.constraints.filter), state.turn,
                  clarification=clarification, picture=picture, error=error)
    return Draft(reply, state)


# --- what the LLM writes (run by the turn handle) -------------------------------------
def write_intro(shop: Shop, draft: Draft) -> Iterator[str]:
    """The reply text, piece by piece: the lead, then the LLM's checked comment."""
    products = [s.product for s in draft.reply.products]
    if not products or not shop.writes_with_llm or draft.request is None:
        yield draft.reply.text
        return
    with shop.llm_lock:
        yield from shop.explainer.intro_stream(draft.request.said, products, draft.reply.text)


def write_explanations(shop: Shop, draft: Draft) -> list[ShownProduct]:
    """One checked sentence per shown product (the LLM's, or the facts' with no LLM), from the
    facts matched at retrieval and what sets each apart from the others shown (compare.py)."""
    shown = draft.reply.products
    if not shown or draft.request is None:
        return shown
    items = [(s.product, s.explanation.matches) for s in shown]
    contrasts = contrasts_for([s.product for s in shown], draft.request.asked, image_ref=draft.request.image_ref,
                              scores=[s.score for s in shown])
    if not shop.writes_with_llm:
        explanations = shop.explainer.explain(draft.request.said, items, draft.request.asked, contrasts)
    else:  # a writer that batches sessions itself (llama.cpp, a server) is not serialised here
        with nullcontext() if getattr(shop.explainer.writer, "batches_sessions", False) else shop.llm_lock:
            explanations = shop.explainer.explain(draft.request.said, items, draft.request.asked, contrasts)
    return [replace(s, explanation=e) for s, e in zip(shown, explanations)]


def make_picture(shop: Shop, draft: Draft) -> Reply:
    job = draft.picture
    picture = shop.picture(job.text, job.product, job.photo)
    # imagine, then search: the real products found from the picture are the reply's cards
    return replace(draft.reply, text=picture.message, picture=picture, products=list(picture.products))


def visualise_turn(shop: Shop, state: SessionState, product_id: str, mode: Literal["try_on", "in_room", "imagine"],
                   photo: ImageSource | None) -> Draft:
    """A catalog product on the shopper, in their room, or imagined: the picture is made at finish."""
    state = replace(state, turn=state.turn + 1)
    products = shop.store.get([product_id]) if isinstance(product_id, str) and product_id else []
    if not products:
        return say(state, f"I can't find the product {product_id!r}.", error=f"unknown product id {product_id!r}")
    try:
        pil = shop.load_image(photo) if photo is not None else None
    except ImageError as exc:
        return say(state, f"I couldn't use that photo: {exc.reason}.", error=str(exc))
    draft = say(state, "Making the picture...")
    return replace(draft, picture=PictureJob(visualise_prompt(products[0], mode), products[0], pil))


def visualise_prompt(product: Product, mode: str) -> str:
    return {"try_on": "try it on me", "in_room": "show it in my room", "imagine": f"imagine {product.title}"}[mode]


DEFAULT_STAGES = Stages(understand=understand, retrieve=retrieve, rerank=rerank_candidates, explain=explain_facts,
                        reply=compose_reply)
