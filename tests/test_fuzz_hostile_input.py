"""Hostile input, fuzzed with hypothesis: catalog files, query text, image bytes and headers.

Contracts checked on every generated example:

* catalogs (``read_catalog``): a bad row is a RowIssue and the rest are kept; no exception but
  CatalogError (whole-file problems); no file but the catalog itself is opened; every image
  path kept lies inside the catalog folder once symlinks are resolved.
* queries (``QueryParser.parse``, ``check_query_text``): a ParsedQuery or a QueryError, and a
  parsed filter Chroma can take (finite, non-negative prices).
* images (``load_image``): an RGB image or an ImageError; over-limit bytes, sides and pixel
  counts are refused before PIL decodes anything (and before it even opens an over-size input).

Examples are derandomized (the same ones every run) and no example database is written.
Run with ``-s`` to see how many examples each property ran.
"""

from __future__ import annotations

import builtins
import collections
import csv
import io
import json
import math
import os
import re
import struct
import zlib
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from adapters.imaging import ImageError, ImageLimits, load_image
from retrieval.catalog import MAX_FIELD, MAX_TITLE, OPTIONAL, REQUIRED, CatalogError, read_catalog
from retrieval.filters import to_where
from retrieval.query_parser import MAX_QUERY_CHARS, ParsedQuery, QueryError, QueryParser, Vocabulary, check_query_text
from tests.conftest import SAMPLE_CATALOG

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
EXAMPLES: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_examples():
    yield
    print("\nfuzz examples run per property: " + ", ".join(f"{k} {v}" for k, v in sorted(EXAMPLES.items())))


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


class _OpenSpy:
    """Records every path opened through open(), io.open(), Path.open() and os.open()."""

    def __init__(self):
        self.paths: list[str] = []

    def __enter__(self):
        real_open, real_os_open = builtins.open, os.open

        def spy_open(file, *a, **k):
            self.paths.append(os.fspath(file) if not isinstance(file, int) else f"<fd {file}>")
            return real_open(file, *a, **k)

        def spy_os_open(path, *a, **k):
            self.paths.append(os.fspath(path))
            return real_os_open(path, *a, **k)

        self._patches = [mock.patch("builtins.open", spy_open), mock.patch("io.open", spy_open),
                         mock.patch("os.open", spy_os_open)]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in reversed(self._patches):
            p.stop()


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
    with _OpenSpy() as spy:
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
        issues = {i.field for i in cat.issues if i.product_id == r["id"]}
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
    with _OpenSpy() as spy:
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


# --- images --------------------------------------------------------------------------------------

def _encoded(fmt: str, mode: str, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 0).save(buf, format=fmt)
    return buf.getvalue()


ENCODINGS = [("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "I;16"), ("PNG", "1"), ("JPEG", "RGB"),
             ("JPEG", "CMYK"), ("JPEG", "L"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"), ("TIFF", "F"),
             ("WEBP", "RGBA"), ("ICO", "RGBA"), ("PPM", "RGB")]


class _DecodeSpy:
    """Fails the test if PIL decodes (``load``) an image whose header is over ``limits``."""

    def __init__(self, limits: ImageLimits):
        self.limits, self.loads = limits, 0

    def __enter__(self):
        real_load, spy = ImageFile.ImageFile.load, self

        def load(img, *a, **k):
            w, h = img.size
            assert max(w, h) <= spy.limits.max_side and w * h <= spy.limits.max_pixels, f"decoded {w}x{h}"
            spy.loads += 1
            return real_load(img, *a, **k)

        self._patch = mock.patch.object(ImageFile.ImageFile, "load", load)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()


def _load(src, limits=ImageLimits()):
    """load_image's only outcomes: an RGB image or an ImageError."""
    try:
        img = load_image(src, limits, name="upload")
    except ImageError as exc:
        assert exc.source == "upload" and str(exc).startswith("upload: ")
        return exc
    assert img.mode == "RGB" and img.width >= 1 and img.height >= 1
    return img


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_refused(data):
    EXAMPLES["image random bytes"] += 1
    assert isinstance(_load(data), ImageError)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@FUZZ
@given(enc=st.sampled_from(ENCODINGS), w=st.integers(1, 40), h=st.integers(1, 40), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
       as_=st.sampled_from(["bytes", "file", "path"]))
def test_truncated_and_corrupted_images(tmp_path_factory, enc, w, h, cut, flips, as_):
    EXAMPLES["image truncated/corrupted"] += 1
    data = bytearray(_encoded(enc[0], enc[1], (w, h)))
    data = data[: max(1, int(len(data) * cut))] if cut < 0.98 else data
    for where, byte in flips:
        data[min(len(data) - 1, int(len(data) * where))] = byte
    if as_ == "path":
        src = tmp_path_factory.mktemp("img") / "x.img"
        src.write_bytes(bytes(data))
    else:
        src = io.BytesIO(bytes(data)) if as_ == "file" else bytes(data)
    with _DecodeSpy(ImageLimits()):
        _load(src)


def _png_header(w: int, h: int) -> bytes:
    """A PNG signature and IHDR (valid CRC) claiming w x h, and no pixel data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + b"\x00" * 16)


def _bmp_header(w: int, h: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 64, 0, 0, 14 + len(info)) + info + b"\x00" * 64


def _gif_header(w: int, h: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", w, h, 0, 0, 0) + b",\x00\x00\x00\x00" + struct.pack("<HH", w, h) \
        + b"\x00\x02\x02D\x01\x00;"


@FUZZ
@given(kind=st.sampled_from(["png", "bmp", "gif"]), w=st.integers(1, 2**31 - 1), h=st.integers(1, 2**31 - 1),
       max_side=st.integers(16, 12_000), max_pixels=st.integers(256, 40_000_000))
@example(kind="png", w=100_000, h=1, max_side=12_000, max_pixels=40_000_000)
@example(kind="png", w=100_000, h=100_000, max_side=12_000, max_pixels=40_000_000)
@example(kind="gif", w=65_535, h=65_535, max_side=12_000, max_pixels=40_000_000)
def test_huge_headers_refused_before_decoding(kind, w, h, max_side, max_pixels):
    EXAMPLES["image huge headers"] += 1
    if kind == "gif":
        w, h = min(w, 65_535), min(h, 65_535)
    data = {"png": _png_header, "bmp": _bmp_header, "gif": _gif_header}[kind](w, h)
    limits = ImageLimits(max_side=max_side, max_pixels=max_pixels)
    with _DecodeSpy(limits):
        out = _load(data, limits)
    if max(w, h) > max_side or w * h > max_pixels:
        assert isinstance(out, ImageError) and any(
            s in out.reason for s in ("limit", "decompression bomb", "not an image", "corrupt")), out


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """6000 x 6000 one-bit pixels: 36 M pixels in a few kilobytes."""
    data = _encoded("PNG", "1", (6000, 6000))
    assert len(data) < 50_000
    return data


@settings(FUZZ, max_examples=30)
@given(max_pixels=st.integers(1, 36_000_000 - 1), as_=st.sampled_from(["bytes", "file"]))
def test_decompression_bomb_refused_before_decoding(bomb, max_pixels, as_):
    EXAMPLES["image decompression bomb"] += 1
    limits = ImageLimits(max_pixels=max_pixels)
    with _DecodeSpy(limits) as spy:
        out = _load(io.BytesIO(bomb) if as_ == "file" else bomb, limits)
    assert isinstance(out, ImageError) and "limit" in out.reason and spy.loads == 0


class _CountingReader(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, n=-1):
        self.asked.append(n)
        return super().read(n)


@FUZZ
@given(limit=st.integers(1, 4096), extra=st.integers(-200, 5000), as_=st.sampled_from(["bytes", "file", "path", "memoryview"]))
def test_byte_limit_refused_before_opening(tmp_path_factory, limit, extra, as_):
    """Over max_bytes: refused without PIL opening it, and a file is never read past limit + 1 bytes."""
    EXAMPLES["image byte limit"] += 1
    png = _encoded("PNG", "RGB", (8, 8))
    data = (png + b"\x00" * max(0, limit + extra - len(png)))[: max(1, limit + extra)]
    limits = ImageLimits(max_bytes=limit)
    src = {"bytes": lambda: data, "memoryview": lambda: memoryview(data), "file": lambda: _CountingReader(data)}.get(as_)
    if as_ == "path":
        path = tmp_path_factory.mktemp("big") / "upload.png"
        path.write_bytes(data)
        src = path
    else:
        src = src()
    with mock.patch("PIL.Image.open", side_effect=AssertionError("opened")) as pil_open, _OpenSpy() as spy:
        out = _load(src, limits) if len(data) > limit else None
    if len(data) > limit:
        assert isinstance(out, ImageError) and "byte limit" in out.reason and not pil_open.called
        assert not spy.paths, f"opened {spy.paths} although os.stat said it is too big"
        if as_ == "file":
            assert src.asked == [limit + 1]
    else:
        assert isinstance(_load(src, limits), (ImageError, Image.Image))


def test_bad_paths_are_image_errors(tmp_path):
    """Paths that are not files: NUL bytes, directories, FIFOs, device files, very long names."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for src, reason in (("a\x00b.png", "not a valid file path"), (tmp_path, "not a regular file"),
                        (fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                        ("a" * 5000, "cannot read file|file not found")):
        with pytest.raises(ImageError, match=reason) as info:
            load_image(src)
        assert len(str(info.value)) < 400
    with pytest.raises(TypeError, match="expected a path, bytes"):
        load_image(12)
