"""One shopper's conversation: a thin holder of the state and the history. Every turn is
run by :mod:`assistant.pipeline`; this class only keeps what the turns return.

>>> session = assistant.new_session(user="ana")
>>> reply = session.send("black sneakers for women under 50")
>>> reply = session.send("cheaper")                    # the request accumulates
>>> session.feedback(reply.products[0].product.id, liked=True)
>>> turn = session.remove_filter("max_price")           # a TurnHandle, like start()
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from dataclasses import replace
from typing import Literal

from adapters.imaging import ImageSource
from assistant.dialogue import Clarification, Constraints
from assistant.pipeline import Draft, Stages, refresh_turn, run_turn, visualise_turn
from assistant.replies import Reply
from assistant.shop import Shop
from assistant.state import Reference, SessionState, Turn, UserProfile
from assistant.turn import TurnHandle
from retrieval.catalog import Product
from retrieval.filters import ProductFilter

logger = logging.getLogger(__name__)

WORDS = "words"  # remove_filter's name for the request's descriptive words ("slim", "cotton")
REFERENCE = "reference"  # ...and for the picture the results should look like (a photo, a product picked)
_FILTER_FIELDS = frozenset(ProductFilter.__dataclass_fields__)


class Session:
    """Not shared between threads; many sessions share one :class:`assistant.Assistant`."""

    def __init__(self, shop: Shop, stages: Stages, user: UserProfile | None = None):
        self._shop = shop
        self._stages = stages
        self.user = user
        self.id = uuid.uuid4().hex[:12]
        self.state = SessionState()
        self.turns: deque[Turn] = deque(maxlen=shop.cfg.max_turns_kept)

    # --- what the conversation holds (read-only views of the state) --------------------
    @property
    def constraints(self) -> Constraints:
        return self.state.constraints

    @property
    def shown(self) -> list[Product]:
        return list(self.state.shown)

    @property
    def liked(self) -> dict[str, bool]:
        """product id -> liked (True) / disliked (False)."""
        return dict(self.state.liked)

    @property
    def reference(self) -> Reference | None:
        return self.state.reference

    @property
    def pending(self) -> Clarification | None:
        return self.state.pending

    @property
    def turn_count(self) -> int:
        return self.state.turn

    # --- turns --------------------------------------------------------------------------
    def send(self, text: str | None = None, image: ImageSource | None = None) -> Reply:
        """One turn, complete (reply text and checked explanations)."""
        return self.start(text, image).finish()

    def start(self, text: str | None = None, image: ImageSource | None = None) -> TurnHandle:
        """Understand and retrieve now; the reply text streams from the returned TurnHandle."""
        draft = run_turn(self._shop, self._stages, self.state, self.user, text, image)
        return self._begin(draft, text if isinstance(text, str) else None, image is not None)

    def refresh(self) -> TurnHandle:
        """Search again with the request in force (after feedback)."""
        return self._begin(refresh_turn(self._shop, self._stages, self.state, self.user), None, False)

    def edit_filter(self, **changes) -> TurnHandle:
        """Change the filters in force (``colours=()`` removes the colour filter, ``max_price=None``
        the price cap) and search again. Unknown fields raise ValueError and change nothing."""
        unknown = set(changes) - _FILTER_FIELDS
        if unknown:
            raise ValueError(f"edit_filter: unknown filter field(s) {sorted(unknown)}; known: {sorted(_FILTER_FIELDS)}")
        c = self.state.constraints
        self.state = replace(self.state, constraints=replace(c, filter=replace(c.filter, **changes)))
        return self.refresh()

    def remove_filter(self, name: str) -> TurnHandle:
        """Clear one facet of the request (a ProductFilter field, ``"words"``, or ``"reference"``: the
        photo or product the results should look like) and search again."""
        if name == REFERENCE:
            self.state = replace(self.state, reference=None)
            return self.refresh()
        if name == WORDS:
            self.state = replace(self.state, constraints=replace(self.state.constraints, words=()))
            return self.refresh()
        return self.edit_filter(**{name: None if name in ("min_price", "max_price") else ()})

    def visualise(self, product_id: str, mode: Literal["try_on", "in_room", "imagine"] = "try_on",
                  photo: ImageSource | None = None) -> TurnHandle:
        """A shown product on the shopper (try_on), in their room (in_room), or imagined, as a
        turn: the picture is made by ``finish()`` (it takes seconds)."""
        draft = visualise_turn(self._shop, self.state, product_id, mode, photo)
        return self._begin(draft, f"see {product_id} ({mode})", photo is not None)

    def feedback(self, product_id: str, liked: bool) -> None:
        """Like or dislike a product: steers the next results (disliked ones are not shown again)."""
        if not isinstance(product_id, str) or not product_id:
            raise ValueError("feedback needs a product id")
        self.state = self.state.with_opinion(product_id, liked)

    def reset(self) -> None:
        self.state = SessionState()
        self.turns.clear()

    # --- bookkeeping ----------------------------------------------------------------------
    def _begin(self, draft: Draft, text: str | None, had_image: bool) -> TurnHandle:
        self.state = draft.state

        def record(reply: Reply) -> None:
            self.turns.append(Turn(reply.turn, text, had_image, reply.text,
                                   tuple(s.product.id for s in reply.products), reply.constraints))

        return TurnHandle(self._shop, draft, record)
