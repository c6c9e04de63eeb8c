"""``python -m ui.serve run ui/app.py [streamlit flags]``: Streamlit's own command line (what
``python -m streamlit`` runs), with the assistant already loading while the server starts.

``shopassist ui`` serves the page through this, so the models load in the seconds before anyone
opens it (:func:`ui.loading.start_preload`) instead of on the first visit. A page that wraps
the app with its own assistant (``shopassist ui --app``) runs plain ``streamlit run``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def main() -> None:
    from streamlit.web import bootstrap  # noqa: F401  (the server's modules: imported before the load starts)
    from streamlit.web.cli import main as streamlit_main

    from ui import loading

    loading.start_preload()  # imports torch, transformers, chromadb...: on its own thread, alone
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
