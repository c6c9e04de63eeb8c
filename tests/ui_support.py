"""The toy shop the UI tests hand to the page (``ui.loading.provide(toy_shop())``; in a
separate server process, ``shopassist ui --app tests/toy_app.py``).

The toy shop: 40 products, toy encoders, a scripted writer (so the reply streams and the
explanations go through the LLM path), the offline compositor for "see it on me". It lives
in its own Chroma folder: ``tests.helpers.toy_assistant`` uses the process-wide in-memory
Chroma, which other test modules reset, while the app keeps its assistant for the whole
process (``st.cache_resource``).
"""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
from pathlib import Path

TOY_APP = Path(__file__).with_name("toy_app.py")  # the page over the toy shop, for a server process
BUILT: list = []  # every assistant built here, newest last (tests reach into the app's one)


def toy_shop():
    import chromadb
    from chromadb.config import Settings

    from adapters.generation.factory import make_generator
    from adapters.imaging import load_image
    from assistant.claims import ClaimChecker
    from assistant import AssistantConfig, Parts, build_assistant
    from assistant.explain import Explainer
    from retrieval.catalog import read_catalog
    from retrieval.ingest import ingest, read_vocabulary
    from retrieval.reader import RequestReader
    from retrieval.search import ProductSearch
    from retrieval.store import ProductStore
    from tests.helpers import ScriptedWriter, toy_encoder, toy_shop_catalog

    folder = Path(tempfile.mkdtemp(prefix="shopassist-ui-shop-"))
    atexit.register(shutil.rmtree, folder, True)
    client = chromadb.PersistentClient(path=str(folder / "chroma"), settings=Settings(anonymized_telemetry=False))
    encoder = toy_encoder()
    store = ProductStore(client, "shop", encoder.fingerprint)
    ingest(read_catalog(toy_shop_catalog(folder)), store, encoder, load_image, progress=False)
    vocab = read_vocabulary(store)
    search = ProductSearch(store, encoder, RequestReader(vocab))
    generator = make_generator()
    status = {"encoders": "toy colour + hashed words (test double)", "store": f"toy shop ({store.count()} products)",
              "llm": "scripted writer (test double)", "generator": getattr(generator, "name", "composite")}
    parts = Parts(search, Explainer(ClaimChecker(vocab), ScriptedWriter(intro="Some picks for you.")),
                  generator=generator, status=status)
    assistant = build_assistant(parts, AssistantConfig(shown=4))
    BUILT.append(assistant)
    return assistant


def png_bytes(size=(120, 160), colour=(220, 30, 30)) -> bytes:
    """A photo-like PNG: a coloured block on white (reads like the toy shop's red items)."""
    from tests.helpers import COLOURS, shirt_image

    name = next((k for k, v in COLOURS.items() if v == colour), "Red")
    im = shirt_image(name).resize(size)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
