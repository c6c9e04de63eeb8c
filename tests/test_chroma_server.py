"""The same store and search through a real Chroma server (`chroma run`) on 127.0.0.1."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from adapters.alignment import AlignmentAdaptor
from adapters.config import AlignmentConfig
from adapters.imaging import load_image
from adapters.product_encoder import ProductEncoder
from retrieval.catalog import read_catalog
from retrieval.ingest import ingest, read_vocabulary
from retrieval.query_parser import QueryParser
from retrieval.search import ProductSearch
from retrieval.store import ProductStore, StoreConfig, StoreUnavailableError, make_client
from tests.helpers import HashTextEncoder, toy_catalog
from tests.test_store_search import ColourImageEncoder

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_search_through_a_server(server, tmp_path):
    torch.manual_seed(0)
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=4, text_dim=32, shared_dim=8, image_projector="linear"))
    encoder = ProductEncoder(ColourImageEncoder(), HashTextEncoder(32), adaptor.eval(), "toy")
    catalog = read_catalog(toy_catalog(tmp_path / "cat"))
    cfg = StoreConfig(host="127.0.0.1", port=server, collection="srv")
    store = ProductStore(make_client(cfg), cfg.collection, encoder.fingerprint)
    assert ingest(catalog, store, encoder, load_image, progress=False).added == 16
    # a second client (another process would do the same) sees the same store and vocabulary
    again = ProductStore(make_client(cfg), cfg.collection, encoder.fingerprint, create=False)
    assert again.count() == 16
    hits = ProductSearch(again, encoder, QueryParser(read_vocabulary(again))).search(text="green shoes", k=3)
    assert hits and all(h.product.base_colour == "Green" for h in hits)


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:\d+"):
        make_client(StoreConfig(host="127.0.0.1", port=_free_port()))
