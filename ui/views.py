"""Drawing the page: the conversation, the live answer, the sidebar (Streamlit calls only;
what the controls do lives in :mod:`ui.chat`, the product cards in :mod:`ui.cards`)."""

from __future__ import annotations

import logging

import streamlit as st

from ui import chat as chats
from ui.cards import product_grid
from ui.chat import Answer, Chat, Message, Upload
from ui.text import md, md_stream

logger = logging.getLogger(__name__)

PROMPT_KEY = "prompt"
PHOTO_KEYS = {"try_on": "photo_try_on", "in_room": "photo_in_room"}
STATUS_LABELS = (("encoders", "Encoders"), ("store", "Store"), ("llm", "LLM"), ("generator", "Image generator"))


# --- startup ----------------------------------------------------------------------------
def intro() -> None:
    st.caption("Ask in words or with a photo: *black sneakers for women under 50*, or attach a picture and say "
               "*like this but in red*. Like or dislike products to steer the next results.")


# --- input ------------------------------------------------------------------------------
def take_prompt(chat: Chat) -> None:
    """The chat box (pinned to the bottom of the page). A submission is queued at once, so a
    run interrupted later still answers it."""
    value = st.chat_input("Ask for a product, or attach a photo...", key=PROMPT_KEY, accept_file=True,
                          submit_mode="disable")
    if value is None:
        return
    files = list(getattr(value, "files", None) or [])
    upload = Upload(files[0].name, files[0].getvalue()) if files else None
    chats.send(chat, getattr(value, "text", "") or "", upload)


def photos() -> dict[str, Upload | None]:
    """The shopper's photos for "see it on me" / "see it in my room" (sidebar uploaders)."""
    out: dict[str, Upload | None] = {}
    for mode, key in PHOTO_KEYS.items():
        f = st.session_state.get(key)
        out[mode] = Upload(f.name, f.getvalue()) if f is not None else None
    return out


# --- the conversation -------------------------------------------------------------------
def history(chat: Chat) -> None:
    last = len(chat.messages) - 1
    for i, m in enumerate(chat.messages):
        message(m, key=str(i), chat=chat, latest=i == last)


def message(m: Message, key: str, chat: Chat | None = None, latest: bool = False) -> None:
    with st.chat_message(m.role):
        _body(m)
        reply = m.reply
        if reply is not None and reply.products:
            product_grid(reply.products, key=key, chat=chat, price_note=reply.price_note)
        if chat is not None and latest and reply is not None and reply.clarification is not None:
            _clarification(chat, reply.clarification, key)


def _body(m: Message) -> None:
    if m.notice:
        st.info(md(m.notice))
    if m.warning:
        st.warning(md(m.warning))
    if m.text:
        st.markdown(md(m.text))
    if m.image is not None:
        st.image(m.image, caption=m.caption, width=320 if m.role == "assistant" else 200)
    elif m.caption:
        st.caption(md(m.caption))


def _clarification(chat: Chat, question, key: str) -> None:
    with st.container(horizontal=True, key=f"clarify-{key}"):
        for i, option in enumerate(question.options):
            st.button(md(option), key=f"option-{key}-{i}", on_click=chats.send, args=(chat, option))
        st.button("Skip this question", key=f"skip-{key}", on_click=chats.send, args=(chat, "skip"),
                  type="tertiary")


def live(answer: Answer) -> None:
    """Draw a request while it is answered: products at once, the text as it streams, a
    spinner while the explanations (or the picture) are made. The rerun draws the result."""
    if answer.user is not None:
        message(answer.user, key="live-user")
    with st.chat_message("assistant"):
        if answer.notice:
            st.info(md(answer.notice))
        turn = answer.turn
        if turn is not None and turn.kind == "search":
            text_box = st.container()
            product_grid(turn.preview(), key="live", chat=None, price_note=turn.preliminary.price_note)
            text_box.write_stream(md_stream(answer.stream()))
        with st.spinner(answer.waiting):
            answer.result()


# --- the sidebar ------------------------------------------------------------------------
def sidebar(chat: Chat, assistant) -> None:
    with st.sidebar:
        st.subheader("Your request")
        filters = chats.active_filters(chat.session)
        if filters:
            st.caption("Click a filter to remove it.")
            for name, value in filters:
                label = chats.FILTER_LABELS.get(name, "words")
                st.button(md(f"✕ {label}: {value}"), key=f"remove-{name}", on_click=chats.remove_filter,
                          args=(chat, name, value), help="Remove this filter and search again")
        else:
            st.caption("No filters yet.")
        liked = sum(1 for v in chat.session.liked.values() if v)
        if chat.session.liked:
            st.caption(f"Your feedback: {liked} liked, {len(chat.session.liked) - liked} disliked.")
            st.button("Update results with my feedback", key="refresh", on_click=chats.refresh, args=(chat,))
        st.button("Start over", key="reset", on_click=chats.reset, args=(chat,), icon=":material/restart_alt:")

        st.subheader("Your photos")
        st.file_uploader("A photo of you (for 'see it on me')", key=PHOTO_KEYS["try_on"])
        st.file_uploader("A photo of your room (for 'see it in my room')", key=PHOTO_KEYS["in_room"])

        st.subheader("Models and store")
        status = assistant.status
        for key, label in STATUS_LABELS:
            st.caption(f"**{label}:** {md(str(status.get(key, 'unknown')))}")
