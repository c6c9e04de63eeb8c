"""Ingestion survives being killed: SIGKILL at random points, re-run, and the store holds
exactly the catalog (nothing missing, nothing twice, both collections agreeing, every vector
equal to a fresh computation). Also: a crash between a product's two writes, a killed prune,
and a damaged store folder.

The kill loops drive real processes writing a real persistent Chroma folder: the
hashing-embedder worker (``tests/ingest_worker.py``, numpy only: starts in about a second) for
most kills, and the real ``python -m assistant ingest`` with the packaged weights for one, gated
on its progress bar. Run with ``-s`` to see the kill points.
"""

from __future__ import annotations

import csv
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from adapters.imaging import load_image
from retrieval.catalog import Catalog, read_catalog
from retrieval.ingest import ingest
from retrieval.store import ProductStore, StoreConfig, StoreUnreadableError, make_client
from tests.conftest import REPO, SAMPLE_CATALOG
from tests.helpers import copy_catalog_rows, shared_client, toy_catalog
from tests.ingest_worker import COLLECTION, HashEmbedder

SLICE = 150
SEED = 20240611
KILLS = 5  # random SIGKILLs of the hashing-embedder worker
KILL_WINDOW = 0.4  # seconds after "ready"; a full run of the slice takes 0.6 s or more at batch size 2


@pytest.fixture(scope="module")
def slice_catalog(tmp_path_factory) -> Path:
    """The first SLICE products of the sample catalog, copied with their images."""
    folder = tmp_path_factory.mktemp("crash_catalog")
    with SAMPLE_CATALOG.open(newline="") as f:
        rows = list(csv.DictReader(f))[:SLICE]
    path = copy_catalog_rows(rows, SAMPLE_CATALOG, folder)
    return path


class _Proc:
    """A child process whose stdout+stderr is drained by a thread, so it never blocks on a full pipe."""

    def __init__(self, cmd: list[str]):
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = b""
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while chunk := self.proc.stdout.read1(4096):
            self.output += chunk

    def wait_until(self, seen: Callable[[str], bool], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not seen(self.text()):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.text()[-3000:]
            time.sleep(0.01)

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait(timeout=60)
        time.sleep(0.05)  # let the drain thread read the last bytes
        return rc

    def text(self) -> str:
        return self.output.decode(errors="replace")


def _run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def _assert_store_holds_exactly(store: ProductStore, catalog: Catalog, encoder, atol: float) -> None:
    """Every catalog product once in each collection, same hash in both, vectors as computed fresh."""
    want = catalog.by_id()
    text = store.text.get(include=["metadatas", "embeddings"])
    image = store.image.get(include=["metadatas", "embeddings"])
    for name, got in (("text", text), ("image", image)):
        assert len(got["ids"]) == len(set(got["ids"])), f"duplicate ids in the {name} collection"
        missing, extra = set(want) - set(got["ids"]), set(got["ids"]) - set(want)
        assert not missing and not extra, f"{name} collection: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
        hashes = {i: m["content_hash"] for i, m in zip(got["ids"], got["metadatas"])}
        stale = [i for i, p in want.items() if hashes[i] != p.content_hash()]
        assert not stale, f"{name} collection holds stale content for {stale[:5]}"
    assert store.get(list(want)) == catalog.products  # the stored metadata is the catalog's
    ids = [p.id for p in catalog.products]
    text_fresh, _ = encoder.embed_texts_both([p.document() for p in catalog.products])
    image_fresh = encoder.embed_images([load_image(p.image) for p in catalog.products])
    stored_text = dict(zip(text["ids"], text["embeddings"]))
    stored_image = dict(zip(image["ids"], image["embeddings"]))
    assert np.allclose(np.array([stored_text[i] for i in ids]), text_fresh, atol=atol)
    assert np.allclose(np.array([stored_image[i] for i in ids]), image_fresh, atol=atol)


def _worker(catalog: Path, store: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tests.ingest_worker", str(catalog), str(store), *extra]


def test_sigkill_at_random_points_then_rerun_gives_exactly_the_catalog(slice_catalog, tmp_path):
    """Hashing embedder, real processes, real Chroma folder: SIGKILLed at seeded random delays."""
    rng = random.Random(SEED)
    store_dir = tmp_path / "store"
    cmd = _worker(slice_catalog, store_dir, "--batch-size", "2")
    kills, finished = [], 0
    for _ in range(3 * KILLS):  # a run that printed its report before the signal is not a kill
        p = _Proc(cmd)
        p.wait_until(lambda out: "ready" in out)
        delay = rng.uniform(0.0, KILL_WINDOW)
        time.sleep(delay)
        rc = p.kill()
        if rc == -signal.SIGKILL and "added" not in p.text():
            kills.append(delay)
        else:
            finished += 1
        if len(kills) == KILLS:
            break
    assert len(kills) == KILLS, f"only {len(kills)} runs were killed mid-ingest"
    out = _run(cmd).strip().splitlines()[-1]
    added, unchanged = _counts(out)
    assert added + unchanged == SLICE and unchanged > 0, out  # resumed, not restarted
    print(f"\ncrash-safe ingest (hashing embedder): {len(kills)} SIGKILLs mid-ingest at "
          f"{', '.join(f'{d:.2f}' for d in kills)} s after start ({finished} run(s) finished first); "
          f"re-run: {out}")
    store = ProductStore(make_client(StoreConfig(path=str(store_dir))), COLLECTION, HashEmbedder().fingerprint,
                         create=False)
    _assert_store_holds_exactly(store, read_catalog(slice_catalog), HashEmbedder(), atol=1e-5)


def _counts(report_line: str) -> tuple[int, int]:
    m = re.search(r"(\d+) added, (\d+) unchanged", report_line)
    assert m, report_line
    return int(m.group(1)), int(m.group(2))


def test_kill_between_the_two_writes_is_repaired(slice_catalog, tmp_path):
    """A product written to the image collection but not the text one is not stored: the re-run writes it."""
    store_dir = tmp_path / "store"
    crashed = subprocess.run(_worker(slice_catalog, store_dir, "--batch-size", "10", "--kill-after-image-writes",
                                     "2"), cwd=REPO, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    out = _run(_worker(slice_catalog, store_dir, "--batch-size", "50"))
    assert _counts(out) == (SLICE - 10, 10)
    # batch 1 landed in both collections; batch 2 only in the image one
    assert f"{SLICE - 10} added, 10 unchanged" in out and "10 half-written repaired" in out, out
    store = ProductStore(make_client(StoreConfig(path=str(store_dir))), COLLECTION, HashEmbedder().fingerprint,
                         create=False)
    _assert_store_holds_exactly(store, read_catalog(slice_catalog), HashEmbedder(), atol=1e-5)


@pytest.mark.integration
def test_real_cli_killed_mid_ingest_then_rerun(slice_catalog, tmp_path):
    """`python -m assistant ingest` with the packaged weights, SIGKILLed while it ingests.

    The kill waits for the progress bar to pass a seeded random share of the work, then a seeded
    random delay: a random point inside a batch, however loaded the machine is.
    """
    rng = random.Random(SEED + 1)
    store_dir = tmp_path / "store"
    cmd = [sys.executable, "-m", "assistant", "ingest", str(slice_catalog), "--store", str(store_dir),
           "--batch-size", "8", "--write-rows", "16"]
    share, delay = rng.uniform(0.1, 0.6), rng.uniform(0.0, 0.2)
    p = _Proc(cmd)
    p.wait_until(lambda out: (bars := re.findall(r"(\d+)/(\d+) \[", out)) != []
                 and int(bars[-1][0]) >= share * int(bars[-1][1]))
    time.sleep(delay)
    assert p.kill() == -signal.SIGKILL and "added" not in p.text(), p.text()[-2000:]
    done = int(re.findall(r"(\d+)/\d+ \[", p.text())[-1])

    # the re-run, in this process so the encoder loads once for it and for the check (the CLI's
    # `ingest` is this same call; the other tests re-run the store through a new process)
    from adapters.loading import load_product_encoder
    from assistant.settings import Settings

    encoder = load_product_encoder(Settings().encoder_config())
    catalog = read_catalog(slice_catalog)
    store = ProductStore(make_client(StoreConfig(path=str(store_dir))), "products", encoder.fingerprint)
    report = ingest(catalog, store, encoder, load_image, batch_size=8, progress=False)
    assert report.added + report.unchanged == SLICE and report.added > 0 and report.unchanged >= done, report
    print(f"\ncrash-safe ingest (real CLI): SIGKILL {delay:.2f} s after the bar passed {share:.0%} "
          f"(bar at {done}/{SLICE}); re-run: {report.summary()}")
    # bf16 text (where the CPU has it): its rounding depends on the batch a product was encoded
    # in, a few 1e-4 here; a vector of another product differs by 1e-1
    atol = 2e-3 if encoder.for_ingest(SLICE)[1].bf16_text else 1e-4
    _assert_store_holds_exactly(store, catalog, encoder, atol=atol)


def _ingested_toy_store(folder: Path):
    """(embedder, catalog, store): the toy catalog ingested into a fresh in-memory collection."""
    encoder = HashEmbedder()
    catalog = read_catalog(toy_catalog(folder))
    store = ProductStore(shared_client(), f"toy{uuid.uuid4().hex[:8]}", encoder.fingerprint)
    ingest(catalog, store, encoder, load_image, progress=False)
    return encoder, catalog, store


def test_killed_prune_leaves_no_orphan(tmp_path):
    """Prune deletes text then image; killed in between, the image-only leftover is removed by the next run."""
    encoder, catalog, store = _ingested_toy_store(tmp_path)
    smaller = Catalog(catalog.path, catalog.products[:-2], rows=catalog.rows)
    real_delete = store.image.delete

    def dies(*a, **k):
        raise KeyboardInterrupt  # the process dies between the two deletes

    store.image.delete = dies
    with pytest.raises(KeyboardInterrupt):
        ingest(smaller, store, encoder, load_image, prune=True, progress=False)
    store.image.delete = real_delete
    assert sorted(store.half_written_ids()) == sorted(p.id for p in catalog.products[-2:])
    report = ingest(smaller, store, encoder, load_image, progress=False)  # no --prune: still repaired
    assert report.repaired == 2 and report.added == 0 and store.half_written_ids() == []
    hits = store.query(encoder.embed_images([load_image(catalog.products[-1].image)])[0], space="image",
                       where=None, k=16)
    assert catalog.products[-1].id not in [h.product.id for h in hits]
    _assert_store_holds_exactly(store, smaller, encoder, atol=1e-5)


def test_changed_product_half_written_is_rewritten(tmp_path):
    """New content in the image collection, old in the text one: not stored, written again."""
    from dataclasses import replace

    encoder, catalog, store = _ingested_toy_store(tmp_path)
    catalog.products[0] = replace(catalog.products[0], title="Brand Men Red Tshirts v2", price=99.0)

    def dies(*a, **k):
        raise KeyboardInterrupt

    real_upsert = store.text.upsert
    store.text.upsert = dies
    with pytest.raises(KeyboardInterrupt):
        ingest(catalog, store, encoder, load_image, progress=False)
    store.text.upsert = real_upsert
    assert catalog.products[0].id not in store.stored_hashes([catalog.products[0].id])
    report = ingest(catalog, store, encoder, load_image, progress=False)
    assert report.added == 1 and report.unchanged == 15
    _assert_store_holds_exactly(store, catalog, encoder, atol=1e-5)


def test_damaged_store_folder_is_a_clear_error(slice_catalog, tmp_path):
    """SQLite survives SIGKILL (above); a file damaged otherwise (disk, partial copy) is named with the fix."""
    small = tmp_path / "small.csv"
    small.write_text("".join(slice_catalog.read_text().splitlines(keepends=True)[:11]))
    _run(_worker(small, tmp_path / "good"))
    cut, scribbled = tmp_path / "cut", tmp_path / "scribbled"
    for folder in (cut, scribbled):
        shutil.copytree(tmp_path / "good", folder)
    db = cut / "chroma.sqlite3"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    with pytest.raises(StoreUnreadableError) as opened:  # fails as the folder is opened
        make_client(StoreConfig(path=str(cut)))
    db = scribbled / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    data[len(data) // 2: len(data) // 2 + 8192] = b"\xa5" * 8192
    db.write_bytes(bytes(data))
    with pytest.raises(StoreUnreadableError) as read:  # opens, fails at the first read
        ProductStore(make_client(StoreConfig(path=str(scribbled))), COLLECTION, HashEmbedder().fingerprint,
                     create=False).count()
    for info, folder in ((opened, cut), (read, scribbled)):
        msg = str(info.value)
        assert f"store folder {folder} cannot be read" in msg and f"shopassist ingest CATALOG --store {folder}" in msg
        assert isinstance(info.value, OSError)  # the CLI prints it as one line, exit code 2
