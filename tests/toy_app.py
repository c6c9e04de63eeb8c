"""The chat page over the toy shop, for a server process (``shopassist ui --app tests/toy_app.py``):
the browser test's fixture. The shop is built once per server, like the real one."""

import sys
from pathlib import Path

import streamlit as st

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ui_support import toy_shop  # noqa: E402
from ui import loading  # noqa: E402


@st.cache_resource
def _shop():
    return toy_shop()


loading.provide(_shop())
exec(compile((REPO / "ui" / "app.py").read_text(), str(REPO / "ui" / "app.py"), "exec"))
