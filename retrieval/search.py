"""One search API over the store: text, image, or both ("like this, but in red").

* Text: the shopper's stated constraints become filters (see :mod:`retrieval.query_parser`);
  the rest is ranked by similarity of the query to the product text.
* Image: similarity of the image to product images in the aligned space.
* Composed (image + text): strategy ``"filtered"`` (the default) keeps what the image
  shows except what the text changes: the text's constraints become filters, the
  attributes the text leaves open (article type, gender) are read off the image's nearest
  catalog neighbours, and candidates are ranked by image similarity plus the text's
  aligned similarity. The baselines it is measured against are ``"image_only"``,
  ``"text_only"`` and ``"sum"`` (add the normalised image and text vectors).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from PIL import Image

from retrieval.catalog import Product
from retrieval.colours import near_steps
from retrieval.filters import ProductFilter, open_facets, to_where
from retrieval.hits import Hit, SearchResult, filter_kwargs, filter_signals, hits_of, then
from retrieval.photo_edits import (Edits, PhotoLook, edit_from_photo, interleave, kinds_for_usage, kinds_named_for,
                                   needs_photo, onward_colours, onward_of_move, onward_steps, photo_look,
                                   read_hypotheses, recognised, record_reading, ATTR)
from retrieval.preferences import SORT_POOL, prefer, soft_facets
from retrieval.query_parser import ParsedQuery, QueryParser, check_query
from retrieval.store import ProductStore, StoredMatch

logger = logging.getLogger(__name__)

ComposedStrategy = Literal["filtered", "sum", "image_only", "text_only"]
MAX_K = 100
# A short page is filled with up to this many perceptually nearest catalog colours per colour asked, within this
# CIELAB distance (Nude: Skin, Peach, Khaki, Beige; Navy Blue: Charcoal, Black, Purple, Blue); chosen on the dev split.
CLOSE_COLOURS, CLOSE_DELTA_E = 4, 45.0
TEXT_CACHE = 256
RECOGNISED_AMONG = 4  # the nearest stored pictures looked at for the photo's own (one shot may serve a few products)


@dataclass(frozen=True)
class SearchConfig:
    composed_strategy: ComposedStrategy = "filtered"
    neighbours: int = 24  # image neighbours read to infer what the picture shows
    min_hypothesis_share: float = 0.05  # a reading of the picture needs this share of the neighbours' vote (tuned on val)
    max_hypotheses: int = 5
    text_weight: float = 0.3  # weight of the text's aligned similarity in composed ranking
    # weight of the tuned tower's own attribute readings against the neighbours' vote when
    # deciding what the picture shows (0: neighbours only; used only when the tower has heads).
    # On the val split: image P@10 / composed Hit@10 0.485 / 0.937 at 0, 0.511 / 0.960 at 0.8.
    head_weight: float = 0.8
    # the readings' result slots go by their share to this power: a likely reading (a man's shirt)
    # takes more of the page from an unlikely one (a woman's). On dev's 140 composed requests
    # (val products) P@10 0.853 at 1, 0.872 at 2, 0.877 at 3; Hit@10 0.964 at each.
    hypothesis_power: float = 2.0
    # a picture the store holds (a shop's own product shot) is read from its product's record; off, every
    # picture is read as one from elsewhere (the evaluations report both)
    recognise: bool = True

    def __post_init__(self) -> None:
        if self.neighbours < 1 or not 0 < self.min_hypothesis_share <= 1 or self.text_weight < 0:
            raise ValueError("SearchConfig: neighbours >= 1, 0 < min_hypothesis_share <= 1, text_weight >= 0")
        if self.hypothesis_power <= 0:
            raise ValueError("SearchConfig: hypothesis_power must be > 0")
        if not 0 <= self.head_weight <= 1:
            raise ValueError("SearchConfig: head_weight must be in 0..1")
        if self.max_hypotheses < 1:
            raise ValueError("SearchConfig: max_hypotheses must be >= 1")


class ProductSearch:
    def __init__(self, store: ProductStore, embedder, parser: QueryParser, cfg: SearchConfig = SearchConfig()):
        self._last_read: tuple | None = None  # (image, vector, readings, look-alikes, own) of the last image read
        self._text_vecs: OrderedDict[str, np.ndarray] = OrderedDict()  # the last TEXT_CACHE texts' vectors
        self._kin_of: dict[str, tuple[str, ...]] = {}  # a kind -> the other kinds its name reads as
        self.store = store
        self.embedder = embedder
        self.parser = parser
        self.cfg = cfg

    def search(self, text: str | None = None, image: Image.Image | None = None,
               filters: ProductFilter | None = None, k: int = 10, exclude_ids: tuple[str, ...] = (),
               strategy: ComposedStrategy | None = None, soft: ProductFilter | None = None,
               sort: str | None = None, edits: Edits | None = None) -> list[Hit]:
        return self.run(text, image, filters, k, exclude_ids, strategy, soft, sort, edits).hits

    def run(self, text: str | None = None, image: Image.Image | None = None,
            filters: ProductFilter | None = None, k: int = 10, exclude_ids: tuple[str, ...] = (),
            strategy: ComposedStrategy | None = None, soft: ProductFilter | None = None,
            sort: str | None = None, edits: Edits | None = None) -> SearchResult:
        """Like :meth:`search`, also returning the parsed query and the filters in force.
        ``soft``: preferred facet values (a boost, never a filter); ``sort="price"``: cheapest
        first; ``edits``: what to do with the photo (default: what the text says)."""
        text = check_query(text, image is not None, k, MAX_K)
        parsed = self.parser.parse(text) if text else None
        base = filters or ProductFilter()
        if parsed:
            base = parsed.filter.merged(base)  # explicit filters win over parsed words
            soft = parsed.soft.merged(soft or ProductFilter())  # and explicit preferences over guessed ones
            sort = sort or parsed.sort
        edits = edits if edits is not None else Edits.of(parsed)
        if image is not None and soft is not None and soft.article_types:
            # a kind only guessed from the words ("a pack": backpacks?) never outranks the photo's own
            soft = replace(soft, article_types=())
        onward, lead = None, None  # a colour moved off the photo: what fills a short page (further that way)
        if image is not None and needs_photo(base, edits) and (strategy or self.cfg.composed_strategy) == "filtered":
            base, photo_soft, onward, lead = self._photo_edit(image, edits, base)
            soft = photo_soft.merged(soft or ProductFilter())
            filters = base if parsed is None else filters  # a picture alone searches under the edited filter
        if onward is None and edits.relative_colour and base.colours and hasattr(self.parser, "shift_colours"):
            onward = onward_of_move(base, edits.relative_colour, self.parser)  # a move already made: further that way
        soft = open_facets(soft, base)  # a preference never overrides a facet the (edited) filter states
        if parsed and soft is not None and (soft.article_types or soft.usages):  # preferences pull the words too
            parsed = replace(parsed, semantic_text=" ".join([parsed.semantic_text, *soft.article_types, *soft.usages]))
        preferring = bool(sort) or (soft is not None and not soft.is_empty()) or lead is not None
        wide = max(k, SORT_POOL) if preferring else k
        # a colour asked of a photo: the photo's kinds in near colours (marked close) come before
        # other kinds in that colour, which come last ("this in nude": nude-ish tops, then nude socks)
        # and a picture edited by the words alone ("a cheaper one like this") is more of that kind of thing
        keep_kind = image is not None and (bool(base.colours) or (parsed is None and edits.any()))
        result = self._route(text, image, parsed, base, filters, wide, exclude_ids, strategy, keep_kind)
        if lead is not None and (soft is None or soft.is_empty()):  # the same look: the photo's kind in its colours
            result = replace(result, hits=then(self._same_look(text, image, parsed, base, wide, exclude_ids, strategy,
                                                               lead), result.hits)[:wide])
        if len(result.hits) < wide:  # a short (or empty) page: fill it with the nearest alternatives
            result = replace(result, hits=result.hits + self._closest(
                text, image, parsed, base, filters, wide, exclude_ids, strategy, result.hits, keep_kind, onward))
        if len(result.hits) < wide and keep_kind:  # still short: what the picture shows is loosened last
            more = self._route(text, image, parsed, base, filters, wide,
                               exclude_ids + tuple(h.product.id for h in result.hits), strategy, keep_kind=False).hits
            result = replace(result, hits=then(result.hits, more)[:wide])
        leading = frozenset()
        if soft is not None and not soft.is_empty():  # what matches the preferences first, then the rest
            first = self._preferred(text, image, parsed, base, soft, filters, wide, exclude_ids, strategy, keep_kind)
            if lead is not None:  # "like these but for everyday": that usage's kinds in the photo's colours first
                first = then(self._same_look(text, image, parsed, base.merged(soft), wide, exclude_ids, strategy,
                                             lead), first)[:wide]
            result, leading = replace(result, hits=then(first, result.hits)), frozenset(h.product.id for h in first)
            soft = None  # what meets every preference leads as found: a score boost would let the photo's own kind back
        around = (base.min_price + base.max_price) / 2 if None not in (base.min_price, base.max_price) else None
        return replace(result, hits=prefer(result.hits, soft, sort, k, around=around, leading=leading)) \
            if preferring else result

    def _same_look(self, text, image, parsed, base: ProductFilter, k, exclude_ids, strategy,
                   look: ProductFilter) -> list[Hit]:
        """What meets ``base`` as the photo looks (``look``: its colours, and its kind and people where
        the words leave them open), short if need be."""
        looks = base.merged(look)
        return self._route(text, image, parsed, looks, looks, k, exclude_ids, strategy, keep_kind=True).hits

    def _preferred(self, text, image, parsed, base, soft: ProductFilter, filters, k, exclude_ids, strategy,
                   keep_kind: bool) -> list[Hit]:
        """What meets every preference (``soft``) under ``base``; while short, what meets those that matter most."""
        # a picture alone searches under the preferred filter; what the photo shows is not loosened to lead
        preferred, keep = base.merged(soft), keep_kind or parsed is not None
        first = self._route(text, image, parsed, preferred, filters if parsed else preferred, k, exclude_ids,
                            strategy, keep).hits
        if image is not None and soft.colours and not base.colours and len(first) < k:
            # the photo's colour, only preferred: its kind in near colours comes before other colours
            first += self._closest(text, image, parsed, preferred, filters if parsed else preferred, k,
                                   exclude_ids, strategy, first, keep)
        if image is None and soft.colours and len(soft_facets(soft)) > 1 and len(first) < k:
            # "darker blue" after "a kurti for work": a colour asked for leads an occasion guessed at
            first = then(first, self._route(text, image, parsed, base.merged(ProductFilter(colours=soft.colours)),
                                             filters, k, exclude_ids, strategy).hits)
        return first

    def _closest(self, text, image, parsed, base: ProductFilter, filters, k: int, exclude_ids, strategy,
                 have: list[Hit], keep_kind: bool = False, onward: tuple[tuple[str, ...], ...] | None = None) -> list[Hit]:
        """Products under the filter loosened to its neighbours: perceptually nearest colours, in the steps
        :func:`~retrieval.colours.near_steps` gives (``onward``: for a colour moved, the colours further
        that way, a step at a time while the page is short),
        and Unisex beside a gender (marked ``close:``; the explanations say their real colour)."""
        steps = onward if onward is not None else \
            near_steps(base.colours, self.parser.vocab.colours, n=CLOSE_COLOURS, max_delta_e=CLOSE_DELTA_E)
        unisex = ("Unisex",) if base.genders and "Unisex" not in base.genders and "Unisex" in self.parser.vocab.genders \
            else ()
        found, colours = [], base.colours
        # Unisex ones in the very colours asked come before neighbouring colours ("maroon lipstick for her")
        for near in (((),) if unisex and steps else ()) + tuple(steps or ((),)):
            if not near and not unisex:
                continue
            colours += near
            looser = replace(base, colours=colours, genders=base.genders + unisex)
            seen = {h.product.id for h in have + found}
            more = self._route(text, image, parsed, looser, filters if parsed else looser, k,
                               exclude_ids + tuple(seen), strategy, keep_kind).hits  # a picture alone: the looser filter
            found += [replace(h, signals=h.signals + ("close:" + looser.describe(),)) for h in more
                      if h.product.id not in seen][: k - len(have) - len(found)]
            if len(have) + len(found) >= k:
                break
        return found

    def _route(self, text, image, parsed, base, filters, k, exclude_ids, strategy,
               keep_kind: bool = False) -> SearchResult:
        """``keep_kind``: a composed search fills its page only with what the picture shows (its
        kinds and genders read off it), short if need be; the caller then tries near colours
        before other kinds (``run``)."""
        fetch = k + len(exclude_ids)
        if image is None:
            return self._text(parsed, base, fetch, exclude_ids, k)
        strategy = strategy or self.cfg.composed_strategy
        if parsed is None or strategy == "image_only":
            # a picture alone keeps what it shows; the image-only baseline fills as it always did
            return self._image(image, parsed, filters or ProductFilter(), fetch, exclude_ids, k,
                               keep_kind and parsed is None)
        if strategy == "text_only":
            return self._text(parsed, base, fetch, exclude_ids, k)
        if strategy == "sum":
            return self._sum(image, parsed, filters or ProductFilter(), fetch, exclude_ids, k)
        return self._composed(image, parsed, base, fetch, exclude_ids, k, keep_kind)

    def _photo_edit(self, image, edits: Edits, base: ProductFilter
                    ) -> tuple[ProductFilter, ProductFilter, tuple[tuple[str, ...], ...] | None, ProductFilter | None]:
        """A composed edit that needs what the photo shows (its colour, type, price): the filter,
        the preferences, for a colour moved off the photo the colours further that way, by steps, and
        what leads what is found (the photo's colours, when the words keep its look)."""
        img = self._read(image)[0]
        shift = self.parser.shift_colours if edits.relative_colour else None  # only the request reader sets it
        look = self.look_at(image)
        filt, soft = edit_from_photo(edits, base, look, self.parser.vocab, shift)
        onward = onward_steps(onward_colours(filt.colours, look, edits.relative_colour, shift), edits.relative_colour,
                              tuple(look.colours) + filt.colours, self.parser, origin=look.colours or (look.colour,)) \
            if shift is not None and filt.colours != base.colours else None
        wanted = edits.usages or base.usages  # "a dressier take on this", "a formal version of these"
        if wanted and not base.article_types and not edits.complement:
            # another usage than the photo's, unless the words' strongest is the photo's ("festive, for a wedding")
            usages = wanted if wanted[:1] == (look.usage,) else tuple(u for u in wanted if u != look.usage) or wanted
            # whom the photo's item is for stays, unless the words say ("like this for the office": hers)
            genders = filt.genders or look.for_whom(self.parser.vocab.genders)
            other = ProductFilter(usages=usages, genders=genders)
            kinds = kinds_for_usage(self.store.query(img, space="image", where=to_where(other), k=self.cfg.neighbours))
            named = kinds_named_for(usages, look.article_type, self.parser.vocab.article_types)
            soft = soft.merged(ProductFilter(article_types=tuple(dict.fromkeys(named + kinds)),
                                             genders=() if filt.genders else genders))
        # the same look for another use or at another price ("like these but for everyday", "a cheaper pair
        # like these"): the photo's colours lead, in what the photo is (or the usage's kinds, which the
        # preferences name). A preferred colour would fill a short page with near colours, other kinds or
        # other people before the kinds wanted.
        if not look.colour or filt.colours or soft.colours or edits.relative_colour or edits.complement:
            return filt, soft, onward, None
        kind = () if filt.article_types or soft.article_types or not look.article_type else (look.article_type,)
        people = () if filt.genders or soft.genders else look.for_whom(self.parser.vocab.genders)
        return filt, soft, onward, ProductFilter(colours=look.colours or (look.colour,), article_types=kind, genders=people)

    def look_at(self, image) -> PhotoLook:
        """What the picture shows (colour, type, gender, usage): the tuned tower's readings, else
        the vote of its nearest catalog products; and what those products of its type cost."""
        _, reading, near, own = self._read(image)
        if own:  # the shop's own picture: its product's record
            return photo_look(own, record_reading([m.product for m in own], reading))
        return photo_look(near, reading)

    # --- the four routes -------------------------------------------------------------
    def _text(self, parsed: ParsedQuery, filt: ProductFilter, fetch, exclude, k) -> SearchResult:
        vec = self._text_vector(parsed.semantic_text)
        matches = self.store.query(vec, space="text", where=to_where(filt), k=fetch)
        signals = ("text",) + filter_signals(filt)
        return SearchResult(hits_of(matches, signals, exclude, k), parsed, filt)

    def _image(self, image, parsed, filt: ProductFilter, fetch, exclude, k, keep_kind: bool = False) -> SearchResult:
        """More of what the picture shows: its likeliest (type, colour) readings share the slots;
        ``keep_kind`` (an edit of it: "a darker version", "a cheaper one like this"): its (type,
        gender) readings, and nothing else."""
        img, reading, near, own = self._read(image)
        fields = ("article_types", "genders") if keep_kind else ("article_types", "colours")
        # what the picture shows is read from its unfiltered neighbours: a budget does not change it
        matches, _ = self._by_readings(img, None, filt, k, fetch, exclude, fields, (near, own), reading,
                                       relax=not keep_kind)
        return SearchResult(hits_of(matches, ("image",) + filter_signals(filt), exclude, k), parsed, filt)

    def _sum(self, image, parsed: ParsedQuery, filt: ProductFilter, fetch, exclude, k) -> SearchResult:
        img = self.embedder.embed_images([image])[0]
        txt = self.embedder.embed_texts_shared([parsed.text])[0]
        vec = img + txt
        vec /= np.linalg.norm(vec) + 1e-8
        matches = self.store.query(vec, space="image", where=to_where(filt), k=fetch)
        return SearchResult(hits_of(matches, ("image", "text"), exclude, k), parsed, filt)

    def _composed(self, image, parsed: ParsedQuery, filt: ProductFilter, fetch, exclude, k,
                  keep_kind: bool = False) -> SearchResult:
        """Keep what the picture shows (type, gender) except what the text changes (its filters)."""
        img, reading, near, own = self._read(image)
        # The words' own pull, when they say more than the filters do ("floral", "slim"); none otherwise.
        described = parsed.free_words is None or bool(parsed.free_words)
        txt = self.embedder.embed_texts_shared([parsed.semantic_text])[0] if described else None
        matches, hypotheses = self._by_readings(img, txt, filt, k, fetch, exclude, ("article_types", "genders"),
                                                (near, own), reading, relax=not keep_kind)
        top = hypotheses[0][0] if hypotheses else {}
        inferred = {ATTR[f]: v for f, v in top.items()}
        signals = ("image", "text") + filter_signals(filt) + tuple(f"inferred:{a}={v}" for a, v in inferred.items())
        applied = ProductFilter(**{**filter_kwargs(filt), **{f: (v,) for f, v in top.items()}})
        return SearchResult(hits_of(matches, signals, exclude, k), parsed, applied, inferred)

    def _text_vector(self, text: str) -> np.ndarray:
        """The text-space vector of ``text``; the last few are kept (a turn searches the same words
        under its filter, its preferences and its page fill: one encoding, not three)."""
        vec = self._text_vecs.get(text)
        if vec is None:
            vec = self.embedder.embed_texts([text])[0]
            self._text_vecs[text] = vec
            while len(self._text_vecs) > TEXT_CACHE:  # sessions share the search: popitem is atomic, iter() is not
                self._text_vecs.popitem(last=False)
        return vec

    def _read(self, image) -> tuple[np.ndarray, dict | None, list[StoredMatch], list[StoredMatch]]:
        """The image's aligned vector, the tuned tower's attribute readings, its ``neighbours``
        nearest stored pictures (one unfiltered query) and the products whose picture it is, when
        the store holds it (the last image's are kept: a composed turn reads the photo, then
        searches by it, several times)."""
        last = self._last_read
        if last is not None and last[0] is image:
            return last[1:]
        vecs, readings = self.embedder.read_images([image])
        near = self.store.query(vecs[0], space="image", where=None, k=self.cfg.neighbours)
        own = recognised(near[:RECOGNISED_AMONG]) if self.cfg.recognise else []
        self._last_read = (image, vecs[0], readings[0] if readings else None, near, own)
        return self._last_read[1:]

    def _by_readings(self, img, txt, filt: ProductFilter, k: int, fetch: int, exclude, fields,
                     read: tuple[list[StoredMatch], list[StoredMatch]], reading: dict | None = None, relax: bool = True):
        """Read ``fields`` off the image (``read``: its nearest stored pictures, whose vote is mixed with
        the tower's own readings, and the products whose picture it is), fill the slots per reading,
        most likely first; ``relax``: then, if too few, under ``filt`` alone."""
        near, own = read
        hypotheses = []
        if relax or not own:  # what the picture looks like: the page's readings, or what fills it after its own
            neighbours = [m for m in near if m.product.id not in exclude]
            if len(neighbours) < self.cfg.neighbours and exclude:  # some were left out: look further
                neighbours = [m for m in self.store.query(img, space="image", where=None, k=self.cfg.neighbours
                                                          + len(exclude)) if m.product.id not in exclude]
            hypotheses = read_hypotheses(neighbours[: self.cfg.neighbours], filt, k, fields, reading, self.cfg)
        if own:  # the shop's own picture: its record's reading takes the page; what it looks like fills it
            first = read_hypotheses(own, filt, k, fields, record_reading([m.product for m in own], reading), self.cfg)
            hypotheses = first + [(attrs, 0) for attrs, _ in hypotheses if first and attrs != first[0][0]]
        taken = self._fill(img, txt, filt, hypotheses, k, fetch, exclude, relax or not hypotheses)
        ordered = interleave(taken.values(), [slots for _, slots in hypotheses])
        return [StoredMatch(m.product, score, m.has_image) for m, score, _ in ordered], hypotheses

    def _fill(self, img, txt, filt: ProductFilter, hypotheses, k: int, fetch: int, exclude, relax: bool = True) -> dict:
        """Fill each reading's slots from its own filtered candidates, then (``relax``) to ``filt`` alone."""
        taken: dict[str, tuple[StoredMatch, float, int]] = {}
        for rank, (attrs, slots) in enumerate(hypotheses):
            if not slots and len(taken) >= k:
                break
            applied = ProductFilter(**{**filter_kwargs(filt), **{f: (v,) for f, v in attrs.items()}})
            got = self._take(taken, self._ranked(img, txt, applied, (slots or k) + fetch, exclude),
                             slots or max(0, k - len(taken)), rank)  # a reading with no slots of its own fills
            if got < slots and "colours" in attrs and "article_types" in attrs:  # too few of that kind and colour:
                same_kind = replace(applied, colours=filt.colours)  # the same kind in other colours, in its slots
                got += self._take(taken, self._ranked(img, txt, same_kind, slots + fetch, exclude), slots - got, rank)
            if got < slots and (kin := self._kin(applied.article_types if "article_types" in attrs else ())):
                # then the kinds the reader takes for the same thing (no kurta under 50: kurtis), in its slots
                self._take(taken, self._ranked(img, txt, replace(applied, article_types=kin), slots + fetch, exclude),
                           slots - got, rank)
        if relax and len(taken) < k:  # too few under the inferred attributes: relax them
            self._take(taken, self._ranked(img, txt, filt, k + fetch, exclude), k - len(taken), len(hypotheses))
        elif len(taken) < k and hypotheses:  # kinds kept: any reading's kind and gender, past its own slots
            read = {f: tuple(dict.fromkeys(a[f] for a, _ in hypotheses if f in a)) for f in ("article_types", "genders")}
            within = ProductFilter(**{**filter_kwargs(filt), **{f: v for f, v in read.items() if v}})
            self._take(taken, self._ranked(img, txt, within, k + fetch, exclude), k - len(taken), len(hypotheses))
        return taken

    def _kin(self, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """The kinds the request reader reads from these kinds' own names, besides them ("Kurtas":
        kurtis too); () when none. Read once per kind."""
        out: list[str] = []
        for kind in kinds:
            if kind not in self._kin_of:
                self._kin_of[kind] = tuple(t for t in self.parser.parse(kind).filter.article_types if t != kind)
            out += [t for t in self._kin_of[kind] if t not in kinds and t not in out]
        return tuple(out)

    @staticmethod
    def _take(taken: dict, ranked: list, slots: int, rank: int) -> int:
        """Up to ``slots`` of ``ranked`` not taken yet, marked with the reading's ``rank``; how many."""
        got = 0
        for m, score in ranked:
            if got == slots:
                break
            if m.product.id not in taken:
                taken[m.product.id] = (m, score, rank)
                got += 1
        return got

    def _ranked(self, img, txt, filt: ProductFilter, n: int, exclude) -> list[tuple[StoredMatch, float]]:
        """Candidates under ``filt`` by image similarity, re-scored with the text's aligned similarity."""
        matches = [m for m in self.store.query(img, space="image", where=to_where(filt), k=n + len(exclude))
                   if m.product.id not in exclude]
        if not matches or txt is None:
            return [(m, m.similarity) for m in matches]
        vecs = self.store.get_vectors([m.product.id for m in matches], space="image")
        w = self.cfg.text_weight
        scored = [(m, (1 - w) * m.similarity + w * float(vecs[m.product.id] @ txt)) for m in matches]
        return sorted(scored, key=lambda t: -t[1])
