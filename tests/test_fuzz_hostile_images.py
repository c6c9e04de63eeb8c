"""Hostile images, fuzzed with hypothesis: image bytes, headers and files (catalogs and
queries: ``test_fuzz_hostile_input.py``).

Contract checked on every generated example: ``load_image`` gives an RGB image or an
ImageError; over-limit bytes, sides and pixel counts are refused before PIL decodes anything
(and before it even opens an over-size input).

Examples are derandomized (the same ones every run) and no example database is written.
Run with ``-s`` to see how many examples each property ran.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from adapters.imaging import ImageError, ImageLimits, load_image
from tests.fuzzing import EXAMPLES, FUZZ, OpenSpy, report_examples  # noqa: F401  (report_examples: autouse)


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
    with mock.patch("PIL.Image.open", side_effect=AssertionError("opened")) as pil_open, OpenSpy() as spy:
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
