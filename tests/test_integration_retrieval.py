"""The real packaged weights (EfficientNet-Lite0, all-MiniLM-L6-v2, the trained adaptor) over a
catalog slice, through the `shopassist` command line."""

import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, SAMPLE_CATALOG
from tests.helpers import copy_catalog_rows

pytestmark = pytest.mark.integration
SLICE = 700


@pytest.fixture(scope="module")
def slice_store(tmp_path_factory):
    """The first SLICE rows of the sample catalog plus every red dress, ingested once."""
    folder = tmp_path_factory.mktemp("slice")
    with SAMPLE_CATALOG.open() as f:
        rows = list(csv.DictReader(f))
    chosen = rows[:SLICE] + [r for r in rows[SLICE:] if r["article_type"] in ("Dresses", "Tshirts")][:300]
    path = copy_catalog_rows(chosen, SAMPLE_CATALOG, folder)
    store = folder / "store"
    out = _cli("ingest", str(path), "--store", str(store), "--quiet")
    assert f"{len(chosen)} added" in out and "0 indexed without image" in out
    return path, store, chosen


def _cli(*args, check=True) -> str:
    proc = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout if check else proc


def test_reingest_adds_nothing(slice_store):
    path, store, chosen = slice_store
    assert f"0 added, {len(chosen)} unchanged" in _cli("ingest", str(path), "--store", str(store), "--quiet")


def test_red_dress_query_returns_red_dresses(slice_store):
    _, store, _ = slice_store
    hits = json.loads(_cli("search", "--store", str(store), "--text", "red dresses under 100", "--json", "-k", "5"))
    assert hits and all(h["article_type"] == "Dresses" for h in hits) and hits[0]["base_colour"] == "Red"
    exact = [h["base_colour"] == "Red" for h in hits]
    assert exact == sorted(exact, reverse=True)  # the red ones first; a short page is filled after them...
    assert all(any(s.startswith("close:") for s in h["signals"]) for h in hits if h["base_colour"] != "Red")  # ...marked
    assert all(h["price"] <= 100 for h in hits) and {"id", "title", "score"} <= set(hits[0])


def test_image_and_composed_queries(slice_store, tmp_path):
    _, store, chosen = slice_store
    ref = next(r for r in chosen if r["article_type"] == "Tshirts" and r["base_colour"] == "Black"
               and r["gender"] == "Men")
    image = SAMPLE_CATALOG.parent / ref["image"]
    hits = json.loads(_cli("search", "--store", str(store), "--image", str(image), "--json", "-k", "10"))
    assert ref["id"] in [h["id"] for h in hits[:3]]  # the product itself is among its nearest neighbours
    top = [h["article_type"] for h in hits if h["id"] != ref["id"]]
    assert top.count("Tshirts") >= 5, top
    composed = json.loads(_cli("search", "--store", str(store), "--image", str(image), "--text", "like this in red",
                               "--json", "-k", "5"))
    assert composed and all(h["base_colour"] == "Red" for h in composed)
    assert sum(h["article_type"] == "Tshirts" for h in composed) >= 4


def test_a_colour_the_photos_kind_lacks_brings_that_kind_in_near_colours_before_other_kinds(slice_store):
    _, store, chosen = slice_store
    assert not any(r["article_type"] == "Tshirts" and r["base_colour"] == "Cream" for r in chosen)
    assert any(r["article_type"] != "Tshirts" and r["base_colour"] == "Cream" for r in chosen)
    ref = next(r for r in chosen if r["article_type"] == "Tshirts" and r["base_colour"] == "Black"
               and r["gender"] == "Men")
    image = SAMPLE_CATALOG.parent / ref["image"]
    hits = json.loads(_cli("search", "--store", str(store), "--image", str(image), "--text", "like this in cream",
                           "--json", "-k", "8"))
    kinds = [h["article_type"] for h in hits]
    assert kinds.count("Tshirts") >= 6, kinds  # before: the cream products of other kinds led the page
    assert all(any(s.startswith("close:") for s in h["signals"]) for h in hits if h["base_colour"] != "Cream")


def test_batch_queries_answer_in_order_and_report_bad_lines(slice_store, tmp_path):
    _, store, chosen = slice_store
    (tmp_path / "q.png").write_bytes((SAMPLE_CATALOG.parent / chosen[0]["image"]).read_bytes())
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    lines = [{"text": "black watches"}, {"image": "q.png"}, {"text": ""}, {"image": "bad.jpg"},
             {"text": "blue jeans for men", "image": "q.png"}]
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    proc = _cli("search", "--store", str(store), "--batch", str(tmp_path / "q.jsonl"), "-k", "3", check=False)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 5 and proc.returncode == 1
    assert all(h["article_type"] == "Watches" for h in out[0])
    assert chosen[0]["id"] in [h["id"] for h in out[1]]
    assert "q.jsonl:3" in out[2]["error"] and "empty query" in out[2]["error"]
    assert "bad.jpg" in out[3]["error"] and "not an image" in out[3]["error"]
    assert isinstance(out[4], list)


def test_store_from_another_adaptor_is_refused_or_rebuilt(slice_store, tmp_path):
    path, _, _ = slice_store
    small = tmp_path / "small.csv"  # 20 rows; their images are not beside it, so they index by text
    small.write_text("".join(path.read_text().splitlines(keepends=True)[:21]))
    store = tmp_path / "store"
    _cli("ingest", str(small), "--store", str(store), "--quiet")
    import chromadb

    client = chromadb.PersistentClient(path=str(store))
    coll = client.get_collection("products_text")
    meta = dict(coll.metadata)
    meta["shopassist_fingerprint"] = meta["shopassist_fingerprint"].replace('"alignment": "', '"alignment": "old-')
    coll.modify(metadata=meta)
    del client
    refused = _cli("ingest", str(small), "--store", str(store), "--quiet", check=False)
    assert refused.returncode == 2 and "--rebuild" in refused.stderr
    rebuilt = _cli("ingest", str(small), "--store", str(store), "--quiet", "--rebuild-on-mismatch")
    assert "20 added" in rebuilt


def test_clear_errors_not_tracebacks(slice_store, tmp_path):
    _, store, _ = slice_store
    proc = _cli("search", "--store", str(store), "--text", "x" * 10_000, check=False)
    assert proc.returncode == 2 and "10000 characters" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("search", "--store", str(tmp_path / "empty"), "--text", "shirt", check=False)
    assert proc.returncode == 2 and "shopassist ingest" in proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n")
    proc = _cli("ingest", str(bad), "--store", str(tmp_path / "s"), check=False)
    assert proc.returncode == 2 and "missing required column" in proc.stderr


def test_eval_runs_on_any_catalog(slice_store, tmp_path):
    path, store, _ = slice_store
    out = _cli("eval", "retrieval", "--catalog", str(path), "--store", str(store), "--queries", "15",
               "--json", str(tmp_path / "eval.json"))
    result = json.loads((tmp_path / "eval.json").read_text())
    assert set(result["suites"]) >= {"text", "image", "composed/filtered", "composed/sum"}
    assert result["suites"]["text"]["P@10"] > 0.8  # the parsed filters hold on any catalog
    assert (tmp_path / "eval.png").is_file() and "text_P@10" in out
