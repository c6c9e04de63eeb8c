"""Product cards in a grid: picture, title, price (marked when it is sample data), the
checked explanation, like / dislike, and "see it on me" / "see it in my room"."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from ui import chat as chats
from ui.text import md

logger = logging.getLogger(__name__)

COLUMNS = 3
IMAGE_WIDTH = 120
def price_text(price: float | None, sample: bool) -> str:
    if price is None:
        return "price not listed"
    return f"${price:,.2f}" + (" *(sample price)*" if sample else "")


def product_grid(products, *, key: str, chat=None, price_note: str | None = None) -> None:
    """``products`` (ShownProduct) as cards, ``COLUMNS`` a row. ``chat``: None draws the cards
    without buttons (while an answer is still being written)."""
    for start in range(0, len(products), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, shown in zip(columns, products[start: start + COLUMNS]):
            with column:
                product_card(shown, key=f"{key}-{shown.rank}", chat=chat, sample_price=bool(price_note))
    if price_note:
        st.caption(f"*(sample price)*: {md(price_note)}.")


def product_card(shown, *, key: str, chat=None, sample_price: bool = False) -> None:
    p = shown.product
    with st.container(border=True, key=f"card-{key}"):
        if p.image and Path(p.image).is_file():
            st.image(p.image, width=IMAGE_WIDTH)
        else:
            st.caption("(no picture)")
        st.markdown(f"**{shown.rank}. {md(p.title)}**")
        st.markdown(price_text(p.price, sample_price))
        if shown.explanation.text:
            st.caption(md(shown.explanation.text))
        if chat is not None:
            _actions(chat, p, key)


def _actions(chat, product, key: str) -> None:
    opinion = chat.session.liked.get(product.id)
    with st.container(horizontal=True, gap="small"):
        st.button("Liked" if opinion is True else "Like", key=f"like-{key}", icon=":material/thumb_up:",
                  help="More like this", type="primary" if opinion is True else "secondary",
                  on_click=chats.feedback, args=(chat, product.id, True))
        st.button("Disliked" if opinion is False else "Dislike", key=f"dislike-{key}",
                  icon=":material/thumb_down:", help="Not this (it won't be shown again)",
                  type="primary" if opinion is False else "secondary",
                  on_click=chats.feedback, args=(chat, product.id, False))
    with st.container(horizontal=True, gap="small"):
        st.button("See it on me", key=f"try_on-{key}", icon=":material/person:",
                  help="A picture of this on you (add your photo in the sidebar)",
                  on_click=chats.visualise, args=(chat, product.id, product.title, "try_on"))
        st.button("See it in my room", key=f"in_room-{key}", icon=":material/chair:",
                  help="A picture of this in your room (add a room photo in the sidebar)",
                  on_click=chats.visualise, args=(chat, product.id, product.title, "in_room"))
