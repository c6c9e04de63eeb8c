"""Driving the chat page headless (streamlit.testing AppTest) over the toy shop: the shared
fixture and the small helpers the UI test modules use."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui_support import toy_shop
from ui import chat as chats
from ui import loading


@pytest.fixture(scope="module")
def toy_page():
    """The page serves the toy shop (built once per module, shared by every AppTest, as
    ``st.cache_resource`` shares the real one between browser tabs)."""
    loading.provide(toy_shop())
    yield
    loading.provide(None)


APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def send(at: AppTest, text: str | None, upload: tuple[str, bytes, str] | None = None) -> AppTest:
    box = at.chat_input[0]
    if text is not None:
        box.set_value(text)
    if upload is not None:
        box.upload(*upload)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def bubbles(at: AppTest, role: str = "assistant"):
    return [m for m in at.chat_message if m.name == role]


def titles(bubble) -> list[str]:
    """Product titles of the cards in a bubble, in rank order ("**2. Brand ...**")."""
    out = []
    for md in bubble.markdown:
        v = md.value
        if v.startswith("**") and v.endswith("**") and ". " in v:
            out.append(v.strip("*").split(". ", 1)[1])
    return out


def texts(bubble) -> str:
    return " ".join(m.value for m in bubble.markdown)


def plain(markdown: str) -> str:
    """What the shopper reads: the page escapes markdown ("\\$50" shows as "$50")."""
    return markdown.replace("\\", "")


def sidebar_labels(at: AppTest) -> list[str]:
    return [plain(b.label) for b in at.sidebar.button]


def the_chat(at: AppTest) -> chats.Chat:
    return at.session_state[chats.STATE_KEY]
