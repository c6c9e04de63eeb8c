"""The shopping assistant's chat page: ``shopassist ui`` (or ``streamlit run ui/app.py``).

Streamlit reruns this script top to bottom on every interaction, so it only wires things:
the shared assistant (loaded once per process), this tab's chat, the page, and one queued
request answered per run.
"""

import logging

import streamlit as st

from ui import loading

logger = logging.getLogger("ui.app")

st.set_page_config(page_title="shopassist", page_icon=":material/shopping_bag:", layout="wide")
st.title("shopassist")

try:
    assistant = loading.get_assistant()
except Exception as exc:  # a missing store, a bad setting: a message, never a traceback
    logger.exception("the assistant could not be built")
    loading.startup_failed(exc)
    st.stop()

# Imported once the assistant is built: their imports (torch, transformers, the assistant's
# modules) are then the load's, made on one thread, not raced against the load that
# `shopassist ui` starts with the server (two threads importing transformers at once can
# see it half-initialised: "cannot import name 'PretrainedConfig'").
from ui import chat as chats  # noqa: E402
from ui import views  # noqa: E402

chat = chats.tab_chat(st.session_state, assistant)
views.take_prompt(chat)
views.sidebar(chat, assistant)
if not chat.messages and not chat.queue:
    views.intro()
views.history(chat)

if chat.queue:
    request = chat.queue.pop(0)
    chats.handle(chat, request, views.photos(), views.live)
    st.rerun()
