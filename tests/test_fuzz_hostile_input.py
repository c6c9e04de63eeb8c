"""Hostile input, fuzzed with hypothesis: catalog files and query text (images:
``test_fuzz_hostile_images.py``).

Contracts checked on every generated example:

* catalogs (``read_catalog``): a bad row is a RowIssue and the rest are kept; no exception but
  CatalogError (whole-file problems); no file but the catalog itself is opened; every image
  path kept lies inside the catalog folder once symlinks are resolved.
* queries (``QueryParser.parse``, ``check_query_text``): a ParsedQuery or a QueryError, and a
  parsed filter Chroma can take (finite, non-negative prices).

Examples are derandomized (the same ones every run) and no example database is written.
Run with ``-s`` to see how many examples each property ran.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from retrieval.catalog import MAX_FIELD, MAX_TITLE, OPTIONAL, REQUIRED, CatalogError, read_catalog
from retrieval.filters import to_where
from retrieval.query_parser import MAX_QUERY_CHARS, ParsedQuery, QueryError, QueryParser, Vocabulary, check_query_text
from tests.conftest import SAMPLE_CATALOG
from tests.fuzzing import EXAMPLES, FUZZ, OpenSpy, report_examples  # noqa: F401  (report_examples: autouse)


# --- catalogs ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory) -> Path:
    """A catalog folder with images, symlinks in and out of it, and symlink loops; secrets beside it."""
    base = tmp_path_factory.mktemp("hostile")
    (base / "secret.png").write_bytes(b"outside the catalog")
    (base / "outside_dir").mkdir()
    (base / "outside_dir" / "x.png").write_bytes(b"outside too")
    root = base / "cat"
    (root / "images" / "sub").mkdir(parents=True)
    Image.new("RGB", (4, 4), (200, 0, 0)).save(root / "images" / "ok.png")
    Image.new("RGB", (4, 4), (0, 0, 200)).save(root / "images" / "sub" / "in.png")
    links = {"link_in.png": "ok.png", "link_out.png": "../../secret.png", "link_dir_out": str(base / "outside_dir"),
             "loop_a": "loop_b", "loop_b": "loop_a", "self": "self", "link_abs_in.png": str(root / "images" / "ok.png")}
    for name, target in links.items():
        (root / "images" / name).symlink_to(target)
    return root


# Image paths whose fate is known: kept (inside the folder) or refused (leaves it).
INSIDE = ["images/ok.png", "images/sub/in.png", "images/link_in.png", "./images/ok.png", "images//ok.png",
          "images/link_abs_in.png", "images/missing.png", "~/.ssh/id_rsa", "file:/etc/passwd", "C:\\Windows\\win.ini",
          "images/ok.png .jpg", "-rf"]
OUTSIDE = ["../../etc/passwd", "../secret.png", "/etc/passwd", "/etc/shadow", "images/../../secret.png", "..",
           "images/link_out.png", "images/link_dir_out/x.png", "images/loop_a", "images/self", "images/self/x.png",
           "images/ok.png\x00.jpg", "//etc/passwd", "images/sub/../../../secret.png", "/" + "a" * 300]
BAD_PRICES = ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0.01", "1e999", "-1e999", "abc", "12,50", "$12",
              "0x10", "1e", "--1", "١٢٣abc", "None", "null"]
GOOD_PRICES = ["0", "12", "12.5", "1e3", " 7 ", "0.001", "1_000", "99999999999"]
hostile_text = st.text(max_size=60) | st.sampled_from(["", " ", "\n", "\r\n", "\x00", '"', '","', "\ufeff", "\u202e",
                                                      "é" * 120, "x" * (MAX_TITLE + 1), "😀" * 30, "\\", "'; DROP"])


@st.composite
def catalog_rows(draw):
    """Rows with a clean unique id ("r<i>", whose outcome the test predicts) or a hostile/duplicate one."""
    rows = []
    for i in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["clean", "clean", "clean", "hostile", "duplicate"]))
        if kind == "duplicate" and rows:
            pid = draw(st.sampled_from([r["id"] for r in rows]))
        elif kind == "hostile":
            pid = draw(hostile_text)
        else:
            pid = f"r{i}"
        row = {"id": pid,
               "title": draw(st.sampled_from([f"Title {i}", f"Title {i}"]) | hostile_text),
               "image": draw(st.sampled_from(INSIDE + OUTSIDE) | hostile_text),
               "price": draw(st.sampled_from(BAD_PRICES + GOOD_PRICES + [""])
                             | st.floats(allow_nan=True, allow_infinity=True).map(repr) | hostile_text)}
        for name in OPTIONAL[:-1]:
            row[name] = draw(st.sampled_from(["Men", "Red", "Tshirts", ""]) | hostile_text)
        rows.append(row)
    return rows


def _write(root: Path, rows: list[dict], fmt: str) -> Path:
    if fmt == "csv":
        path = root / "products.csv"
        with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as f:
            w = csv.DictWriter(f, fieldnames=list(REQUIRED + OPTIONAL))
            w.writeheader()
            w.writerows(rows)
    else:
        path = root / "products.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _inside(path: str, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


@settings(FUZZ, max_examples=200)
@given(rows=catalog_rows(), fmt=st.sampled_from(["csv", "jsonl"]))
@example(rows=[{"id": "r0", "title": "T", "image": "images/loop_a", "price": "nan"}], fmt="csv")
@example(rows=[{"id": "r0", "title": "x" * 200_000, "image": "images/ok.png", "price": "1"},
               {"id": "r1", "title": "Kept", "image": "images/ok.png", "price": "2"}], fmt="csv")
def test_catalog_rows_fuzzed(catalog_dir, rows, fmt):
    EXAMPLES["catalog rows"] += 1
    path = _write(catalog_dir, rows, fmt)
    with OpenSpy() as spy:
        cat = read_catalog(path)  # never raises: the header is fine, so every problem is a row's
    assert set(spy.paths) <= {str(path)}, f"opened {set(spy.paths) - {str(path)}}"

    ids = [p.id for p in cat.products]
    assert len(ids) == len(set(ids))
    for p in cat.products:
        assert p.id and len(p.id) <= MAX_FIELD and p.title and len(p.title) <= MAX_TITLE
        assert p.price is None or (math.isfinite(p.price) and p.price >= 0)
        assert p.image is None or (os.path.isabs(p.image) and _inside(p.image, catalog_dir)), p.image
    skipped_rows = {i.row for i in cat.issues if i.action == "row skipped"}
    assert len(cat.products) + len(skipped_rows) == len(rows), (cat.products, cat.issues)

    by_id = cat.by_id()
    clean = [r for r in rows if re.fullmatch(r"r\d+", r["id"]) and re.fullmatch(r"Title \d+", r["title"])
             and r["image"].strip() and [x["id"] for x in rows].index(r["id"]) == rows.index(r)]
    for r in clean:  # outcomes the contract fixes: kept, with each bad field dropped and reported
        p = by_id[r["id"]]
        # its own row's issues: a later row with the same id is skipped, and its issues are its own
        issues = {i.field for i in cat.issues if i.product_id == r["id"] and i.row == cat.rows[r["id"]]}
        if r["image"] in OUTSIDE:
            assert p.image is None and "image" in issues, (r, cat.issues)
        elif r["image"] in INSIDE:
            assert p.image == os.path.realpath(catalog_dir / " ".join(r["image"].split()))
        if r["price"] in BAD_PRICES:
            assert p.price is None and "price" in issues
        elif r["price"] in GOOD_PRICES:
            assert p.price == round(float(r["price"]), 2)
        elif not r["price"].strip():
            assert p.price is None and "price" not in issues
    if any(len(r["title"]) > 131072 for r in rows):  # csv's default field limit must not end the file
        assert "r1" in by_id


@FUZZ
@given(data=st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
       fmt=st.sampled_from([".csv", ".jsonl"]), header=st.booleans())
@example(data="\ufeffid,title,image\n1,T,images/ok.png\n".encode(), fmt=".csv", header=False)
def test_catalog_file_of_junk(catalog_dir, data, fmt, header):
    """Any bytes at all: a Catalog or a CatalogError, never another exception, never another file opened."""
    EXAMPLES["catalog junk files"] += 1
    path = catalog_dir / f"junk{fmt}"
    path.write_bytes((b"id,title,image,price\n" if header and fmt == ".csv" else b"") + data)
    with OpenSpy() as spy:
        try:
            cat = read_catalog(path)
        except CatalogError as exc:
            assert str(path) in str(exc)
            return
    assert set(spy.paths) <= {str(path)}
    assert all(p.image is None or _inside(p.image, catalog_dir) for p in cat.products)
    if data.startswith("\ufeffid".encode()):  # a BOM (Excel's "CSV UTF-8") is not part of the first column
        assert [p.id for p in cat.products] == ["1"]


# --- queries -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parser() -> QueryParser:
    return QueryParser(Vocabulary.from_products(read_catalog(SAMPLE_CATALOG).products))


WORDS = ["under", "below", "over", "between", "and", "to", "-", "$", "less than", "at least", "not", "no", "but",
         "red", "navy", "t-shirts", "tee", "for him", "women's", "dress", "shoes", "black", "<", ">=", ".", "dollars"]
numbers = st.integers(0, 10**6).map(str) | st.text("0123456789", min_size=300, max_size=400) \
    | st.floats(allow_nan=False, allow_infinity=False, min_value=0).map(str)
phrases = st.lists(st.sampled_from(WORDS) | numbers | st.text(max_size=8), max_size=12).map(" ".join)
queries = st.text(max_size=200) | phrases \
    | st.text(min_size=MAX_QUERY_CHARS - 2, max_size=MAX_QUERY_CHARS + 2, alphabet="ab 1$-") \
    | st.sampled_from(["", " ", "\x00", "\u0130" * 600, "ß" * 999, "\ufdfd" * 400])


@settings(FUZZ, max_examples=200)
@given(text=queries)
@example(text="under " + "9" * 400)
@example(text="between 1" + "0" * 350 + " and 5")
def test_query_parser_fuzzed(parser, text):
    EXAMPLES["queries"] += 1
    try:
        parsed = parser.parse(text)
    except QueryError as exc:
        assert str(exc)
        return
    assert isinstance(parsed, ParsedQuery) and len(text) <= MAX_QUERY_CHARS
    f = parsed.filter
    for bound in (f.min_price, f.max_price):
        assert bound is None or (math.isfinite(bound) and bound >= 0)
    assert f.min_price is None or f.max_price is None or f.min_price <= f.max_price
    json.dumps(to_where(f), allow_nan=False)  # what Chroma (local or over HTTP) is sent
    vocab = parser.vocab
    assert set(f.colours) | set(f.exclude_colours) <= set(vocab.colours)
    assert set(f.article_types) <= set(vocab.article_types) and set(f.genders) <= set(vocab.genders)


@FUZZ
@given(value=st.none() | st.text(max_size=1500) | st.integers() | st.binary(max_size=20) | st.lists(st.text(), max_size=2))
def test_check_query_text_fuzzed(value):
    EXAMPLES["query text check"] += 1
    try:
        assert check_query_text(value) is None
    except QueryError:
        return
    assert value is None or (isinstance(value, str) and len(value) <= MAX_QUERY_CHARS)
