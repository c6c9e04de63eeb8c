"""The chat web page (Streamlit): ``shopassist ui [--port N]``.

* ``app.py``: the script Streamlit reruns on every interaction; it only wires the parts below.
* ``loading.py``: the one shared :class:`assistant.Assistant` per process (``st.cache_resource``),
  as the settings describe, or the one handed in with ``loading.provide`` (tests: a toy shop).
* ``serve.py``: Streamlit's command line with that load started as the server starts
  (what ``shopassist ui`` runs).
* ``chat.py``: a tab's conversation (``st.session_state``) and what the controls do; no drawing.
* ``views.py``, ``cards.py``, ``text.py``: drawing the conversation, the product cards, the sidebar.
* ``headless.py``: the page in a headless Chromium, for the end-to-end test and ``bench/bench_ui.py``.

ui depends on ``assistant`` only (and on Streamlit); no retrieval, model or prompt code lives here.
"""
