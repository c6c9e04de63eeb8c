"""One browser tab's conversation and what the page's controls do to it (no rendering here).

Each tab keeps a :class:`Chat` in ``st.session_state``: its own ``assistant`` session (the
constraints, the shown products, likes and dislikes) plus the messages drawn on the page.
Two tabs never share one. Controls *queue* a :class:`Request` (cheap, in their
``on_click`` callbacks); the script body then runs one request per run through
:func:`handle`, which draws it live and records the answer even when Streamlit interrupts
the run because the shopper clicked or sent something else meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant import REFERENCE, WORDS, Assistant, Reply, Session, TurnHandle

logger = logging.getLogger(__name__)

STATE_KEY = "shopassist_chat"
MAX_QUEUED = 4  # requests waiting for their turn; more clicks than that while busy are dropped
MAX_MESSAGES = 100  # bubbles kept per tab (the session itself keeps its last 20 turns)
THUMBNAIL = (320, 320)  # the shopper's uploads, as shown in the conversation
PICTURE = (1024, 1024)  # generated pictures are kept at most this big (a photo-sized one can be 40 MP)

# ProductFilter field -> how the sidebar names it (the filter's own fields, see Constraints.filter)
FILTER_LABELS = {
    REFERENCE: "looks like",
    "colours": "colour",
    "article_types": "type",
    "genders": "for",
    "usages": "occasion",
    "master_categories": "category",
    "sub_categories": "sub-category",
    "min_price": "price from",
    "max_price": "price up to",
    "exclude_colours": "not",
    "exclude_article_types": "not",
    "exclude_usages": "not for",
}
MODES = {"try_on": "on me", "in_room": "in my room"}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes = field(repr=False)


@dataclass
class Message:
    """One bubble. Assistant bubbles carry the :class:`assistant.replies.Reply` they show."""

    role: Literal["user", "assistant"]
    text: str = ""
    image: Any = None  # PIL image: the shopper's upload (thumbnail) or a generated picture
    caption: str | None = None  # under the image: the file name, or which backend made the picture
    reply: Reply | None = None  # the products, clarification, price note
    warning: str | None = None  # bad input or a failure, said plainly
    notice: str | None = None  # what a control did: "Filter removed: colour Red"


@dataclass(frozen=True)
class Request:
    kind: Literal["send", "edit", "refresh", "visualise"]
    text: str | None = None
    upload: Upload | None = None
    filter_name: str | None = None  # edit: the ProductFilter field to clear (or WORDS)
    notice: str | None = None
    product_id: str | None = None
    product_title: str | None = None
    mode: str | None = None  # visualise: "try_on" | "in_room"


@dataclass
class Chat:
    assistant: Assistant  # shared by every tab
    session: Session  # this tab's conversation
    messages: list[Message] = field(default_factory=list)
    queue: list[Request] = field(default_factory=list)


def tab_chat(state: MutableMapping, assistant) -> Chat:
    """This tab's chat (created on the tab's first run, over the shared assistant)."""
    chat = state.get(STATE_KEY)
    if chat is None or chat.assistant is not assistant:
        chat = Chat(assistant, assistant.new_session())
        state[STATE_KEY] = chat
    return chat


# --- controls (safe in on_click callbacks: cheap, no drawing) ---------------------------
def enqueue(chat: Chat, request: Request) -> bool:
    """Queue ``request`` unless the same one is already waiting (a double click) or too many are."""
    if request in chat.queue or len(chat.queue) >= MAX_QUEUED:
        logger.info("dropped a repeated or excess request: %s", request.kind)
        return False
    chat.queue.append(request)
    return True


def send(chat: Chat, text: str | None, upload: Upload | None = None) -> bool:
    return enqueue(chat, Request("send", text=text, upload=upload))


def remove_filter(chat: Chat, name: str, shown_value: str) -> bool:
    """Clear one facet of the request in force (``name``: a ProductFilter field or WORDS)."""
    label = FILTER_LABELS.get(name, "words")
    return enqueue(chat, Request("edit", filter_name=name, notice=f"Filter removed: {label} {shown_value}"))


def refresh(chat: Chat) -> bool:
    liked = sum(1 for v in chat.session.liked.values() if v)
    disliked = len(chat.session.liked) - liked
    return enqueue(chat, Request("refresh", notice=f"Results updated with your feedback ({liked} liked, "
                                                   f"{disliked} disliked)"))


def visualise(chat: Chat, product_id: str, title: str, mode: str) -> bool:
    return enqueue(chat, Request("visualise", product_id=product_id, product_title=title, mode=mode))


def feedback(chat: Chat, product_id: str, liked: bool) -> None:
    """Like (True) or dislike (False); clicking the same choice again is a no-op."""
    chat.session.feedback(product_id, liked)


def reset(chat: Chat) -> None:
    chat.session.reset()
    chat.messages.clear()
    chat.queue.clear()


def active_filters(session) -> list[tuple[str, str]]:
    """(field, shown value) for each facet of the request in force, in the sidebar's order."""
    c = session.constraints
    out: list[tuple[str, str]] = [(REFERENCE, session.reference.label)] if session.reference is not None else []
    for name in FILTER_LABELS:
        if name == REFERENCE:
            continue
        value = getattr(c.filter, name)
        if value in ((), None):
            continue
        if name in ("min_price", "max_price"):
            out.append((name, f"${value:g}"))
        else:
            out.append((name, " or ".join(str(v) for v in value)))
    if c.words:
        out.append((WORDS, " ".join(c.words)))
    return out


# --- running one request ----------------------------------------------------------------
@dataclass
class Answer:
    """A request being answered: the assistant's :class:`assistant.TurnHandle` (products at
    once, a text stream, then the finished reply; it never raises), or the page's own
    message when the request could not even start (a photo it cannot use)."""

    user: Message | None
    turn: TurnHandle | None = None
    message: Message | None = None
    notice: str | None = None
    _pieces: Iterator[str] | None = None

    def stream(self) -> Iterator[str]:
        """The reply text as it is written (nothing for a question, an error or a picture)."""
        if self.turn is None:
            return iter(())
        self._pieces = self.turn.stream()
        return self._pieces

    @property
    def waiting(self) -> str:
        return "Making the picture..." if self.turn is not None and self.turn.kind == "picture" \
            else "Writing the explanations..."

    def result(self) -> Message:
        """The finished answer as a bubble (idempotent; the turn is recorded by the session)."""
        if self.message is None:
            for _ in self._pieces or ():  # a run interrupted mid-stream still completes its turn
                pass
            self.message = _bubble(self.turn.finish(), self.notice)
        return self.message


def _bubble(reply: Reply, notice: str | None) -> Message:
    if reply.error:
        return Message("assistant", warning=reply.text, notice=notice)
    picture = reply.picture
    if picture is not None and picture.image is None:
        return Message("assistant", warning=picture.message, notice=notice)
    warning = (f"Sorry, something went wrong while answering ({reply.failure}). Please try again."
               if reply.failure else None)
    if picture is not None:
        return Message("assistant", text=reply.text, image=_shrunk(picture.image, PICTURE),
                       caption=_made_by(picture.backend), reply=reply, notice=notice, warning=warning)
    return Message("assistant", text=reply.text, reply=reply, notice=notice, warning=warning)


def prepare(chat: Chat, request: Request, photos: dict[str, Upload | None]) -> Answer:
    """Start answering ``request`` (retrieval runs here; the LLM's part runs in the turn)."""
    session = chat.session
    if request.kind == "send":
        return _send(chat, request)
    if request.kind == "edit":
        return Answer(None, session.remove_filter(request.filter_name or ""), notice=request.notice)
    if request.kind == "refresh":
        return Answer(None, session.refresh(), notice=request.notice)
    if request.kind == "visualise":
        return _visualise(chat, request, photos)
    raise ValueError(f"unknown request kind {request.kind!r}")


def _send(chat: Chat, request: Request) -> Answer:
    text = request.text if request.text is not None else ""
    if request.upload is None:  # an empty message draws no bubble of its own, only the answer
        return Answer(Message("user", text=text) if text.strip() else None, chat.session.start(text))
    try:
        image = _load_upload(chat.assistant, request.upload)
    except ValueError as exc:
        user = Message("user", text=text, caption=f"attached: {request.upload.name} (not used)")
        return Answer(user, message=Message("assistant", warning=_bad_upload(request.upload.name, exc, chat.assistant)))
    user = Message("user", text=text, image=_thumbnail(image), caption=request.upload.name)
    return Answer(user, chat.session.start(text or None, image))


def _visualise(chat: Chat, request: Request, photos: dict[str, Upload | None]) -> Answer:
    where = MODES.get(request.mode or "", "")
    user = Message("user", text=f"See the {request.product_title or request.product_id} {where}")
    photo = photos.get(request.mode or "")
    if photo is None:
        what = "yourself" if request.mode == "try_on" else "your room"
        return Answer(user, message=Message("assistant", warning=f"To see it {where}, first add a photo of {what} "
                                                                 "under 'Your photos' in the sidebar, then click again."))
    try:
        image = _load_upload(chat.assistant, photo)
    except ValueError as exc:
        return Answer(user, message=Message("assistant", warning=_bad_upload(photo.name, exc, chat.assistant)))
    user.image, user.caption = _thumbnail(image), photo.name
    return Answer(user, chat.session.visualise(request.product_id or "", request.mode or "try_on", image))


def handle(chat: Chat, request: Request, photos: dict[str, Upload | None],
           show: Callable[[Answer], None]) -> Message:
    """Answer ``request``: ``show`` draws it live; the answer is recorded in any case (the
    ``finally``: Streamlit stops a run at its next drawing call when the shopper sends or
    clicks something else, and the turn must still end in the history, complete)."""
    try:
        work = prepare(chat, request, photos)
    except Exception as exc:  # never a traceback on the page
        logger.exception("could not start the request")
        work = Answer(None, message=Message("assistant", warning=f"Sorry, that did not work ({exc}). Please try again."))
    if work.user is not None:
        chat.messages.append(work.user)
    try:
        show(work)
    except Exception:  # a model error while streaming: logged; the answer below says what can be said
        logger.exception("drawing the answer failed")
    finally:
        message = work.result()
        chat.messages.append(message)
        del chat.messages[:-MAX_MESSAGES]
    return message


def _shrunk(image, box: tuple[int, int]):
    if image.width <= box[0] and image.height <= box[1]:
        return image
    small = image.copy()
    small.thumbnail(box)
    return small


def _thumbnail(image):
    return _shrunk(image, THUMBNAIL)


class UploadTooLarge(ValueError):
    pass


def _limit_bytes(assistant: Assistant) -> int | None:
    return assistant.image_limits.max_bytes


def _load_upload(assistant, upload: Upload):
    """The upload as an RGB image (the assistant's checks), sizes said in MB."""
    limit = _limit_bytes(assistant)
    if limit and len(upload.data) > limit:
        raise UploadTooLarge(f"it is {len(upload.data) / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit")
    return assistant.load_image(upload.data)


def _reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc)  # ImageError has a reason; UploadTooLarge only its text


def _bad_upload(name: str, exc: Exception, assistant) -> str:
    limit = _limit_bytes(assistant)
    size = f" up to {limit / 2**20:.0f} MB" if limit else ""
    return f"I couldn't use '{name}': {_reason(exc)}. Please attach a photo (JPEG, PNG or WebP){size}."


def _made_by(backend: str | None) -> str:
    return f"Made by: {backend or 'unknown backend'}"
