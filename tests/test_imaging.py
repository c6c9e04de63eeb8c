import io

import pytest
from PIL import Image

from adapters.imaging import ImageError, ImageLimits, fit_to_canvas, load_image


def _png(size=(20, 30), mode="RGB", colour=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode != "L" else 128).save(buf, format="PNG")
    return buf.getvalue()


def test_loads_any_mode_as_rgb():
    for mode, colour in (("RGB", (1, 2, 3)), ("RGBA", (255, 0, 0, 0)), ("L", None), ("P", None)):
        img = load_image(_png(mode=mode, colour=colour or 5))
        assert img.mode == "RGB" and img.size == (20, 30)


def test_transparent_pixels_become_white():
    img = load_image(_png(mode="RGBA", colour=(255, 0, 0, 0)))
    assert img.getpixel((0, 0)) == (255, 255, 255)


def test_one_pixel_image_is_fine():
    assert load_image(_png(size=(1, 1))).size == (1, 1)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
    (_png()[:60], "corrupt or truncated"),
])
def test_bad_bytes_name_the_reason(data, reason):
    with pytest.raises(ImageError, match=reason) as info:
        load_image(data, name="upload.png")
    assert info.value.source == "upload.png"


def test_truncated_jpeg_is_refused(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 10)).save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match=str(path)):
        load_image(path)


def test_decompression_bomb_refused_before_decoding():
    # 6000x6000 of one colour compresses to a few kB but would be 108 MB of pixels.
    bomb = _png(size=(6000, 6000), mode="L")
    assert len(bomb) < 200_000
    with pytest.raises(ImageError, match="pixel limit"):
        load_image(bomb, ImageLimits(max_pixels=10_000_000))


def test_side_limit_and_byte_limit():
    with pytest.raises(ImageError, match="side over"):
        load_image(_png(size=(5000, 2)), ImageLimits(max_side=4000))
    with pytest.raises(ImageError, match="byte limit"):
        load_image(_png(), ImageLimits(max_bytes=10))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(tmp_path)


def test_fit_to_canvas_keeps_aspect_and_pads_white():
    out = fit_to_canvas(Image.new("RGB", (10, 40), (0, 0, 0)), (40, 40))
    assert out.size == (40, 40)
    assert out.getpixel((0, 20)) == (255, 255, 255) and out.getpixel((20, 20)) == (0, 0, 0)
