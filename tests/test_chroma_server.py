"""The same store and search through a real Chroma server (`chroma run`) on 127.0.0.1."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.imaging import load_image
from retrieval.catalog import read_catalog
from retrieval.ingest import ingest, read_vocabulary
from retrieval.query_parser import QueryParser
from retrieval.search import ProductSearch
from retrieval.store import ProductStore, StoreConfig, StoreUnavailableError, make_client
from tests.helpers import toy_catalog, toy_encoder
from ui.headless import free_port

pytestmark = pytest.mark.integration


class ChromaServer:
    """`chroma run` on 127.0.0.1 over one folder; can be stopped and started again on the same port."""

    def __init__(self, path: Path, port: int):
        self.path, self.port, self.proc = path, port, None

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                assert self.proc.poll() is None, f"chroma server exited with code {self.proc.returncode}"
                time.sleep(0.1)
        self.proc.kill()
        pytest.fail("chroma server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def chroma_server(tmp_path):
    srv = ChromaServer(tmp_path / "db", free_port())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(chroma_server):
    return chroma_server.port


def test_ingest_and_search_through_a_server(server, tmp_path):
    encoder = toy_encoder()
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
        make_client(StoreConfig(host="127.0.0.1", port=free_port()))


def test_server_restart_mid_session(chroma_server, tmp_path):
    """Server stopped mid-session: a clear error naming host:port; restarted: the same objects work, no data lost."""
    encoder = toy_encoder()
    catalog = read_catalog(toy_catalog(tmp_path / "cat"))
    cfg = StoreConfig(host="127.0.0.1", port=chroma_server.port, collection="restart")
    store = ProductStore(make_client(cfg), cfg.collection, encoder.fingerprint)
    assert ingest(catalog, store, encoder, load_image, progress=False).added == 16
    search = ProductSearch(store, encoder, QueryParser(read_vocabulary(store)))
    before = [h.product.id for h in search.search(text="green shoes", k=3)]
    ids_before = sorted(store.all_ids())
    assert before and sorted(store.all_ids("image")) == ids_before

    chroma_server.stop()
    where = rf"127\.0\.0\.1:{chroma_server.port}"
    with pytest.raises(StoreUnavailableError, match=where) as info:
        search.search(text="green shoes", k=3)
    assert "is the server running" in str(info.value) and isinstance(info.value, ConnectionError)
    with pytest.raises(StoreUnavailableError, match=where):
        store.count()
    with pytest.raises(StoreUnavailableError, match=where):  # an ingest started now fails the same way
        ingest(catalog, store, encoder, load_image, progress=False)

    chroma_server.start()  # same folder, same port; the store and search objects are reused as they are
    assert [h.product.id for h in search.search(text="green shoes", k=3)] == before
    assert store.count() == 16 and sorted(store.all_ids()) == ids_before
    assert sorted(store.all_ids("image")) == ids_before and store.half_written_ids() == []
    again = ingest(catalog, store, encoder, load_image, progress=False)
    assert again.added == 0 and again.unchanged == 16
