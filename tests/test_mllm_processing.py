"""The image/prompt contract: N placeholder tokens per <image>, clear errors on mismatch,
any image mode or size handled (or refused clearly)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from adapters.imaging import ImageError
from adapters.mllm.configuration_effnet import EffnetVisionConfig
from adapters.mllm.modeling_effnet import patch_colour_histogram
from adapters.mllm.processing import EffnetImageProcessor, check_image_count, content_to_text, expand_image_tokens
from mllm_tiny import tiny_tokenizer
from adapters.mllm.processing import MLLMProcessor


@pytest.fixture(scope="module")
def processor():
    return MLLMProcessor(tiny_tokenizer(), EffnetImageProcessor(64, 64), num_image_tokens=4)


def test_tower_config_tokens_and_validation():
    cfg = EffnetVisionConfig()
    assert (cfg.image_height, cfg.image_width) == (160, 128)
    assert cfg.num_image_tokens == 20 and cfg.hidden_size == 1280 + 64
    assert EffnetVisionConfig(image_height=224, image_width=224, colour_bins=0).num_image_tokens == 49
    with pytest.raises(ValueError, match="multiples of 32"):
        EffnetVisionConfig(image_height=100)
    with pytest.raises(ValueError, match="colour_bins"):
        EffnetVisionConfig(colour_bins=9)


def test_patch_colour_histogram_is_per_cell_distribution():
    img = torch.zeros(1, 3, 64, 32)
    img[:, 0, :32] = 1.0  # top cell pure red, bottom cell black (in [0,1] space)
    pv = (img * 255 - 127) / 128
    hist = patch_colour_histogram(pv, 2)
    assert hist.shape == (1, 2, 8)
    assert torch.allclose((hist**2).sum(-1), torch.ones(1, 2))
    assert hist[0, 0].argmax() == 4 and hist[0, 1].argmax() == 0  # (r=1,g=0,b=0) -> bin 4; black -> bin 0


def test_expand_and_count():
    assert expand_image_tokens("a <image> b", 3) == "a <image><image><image> b"
    check_image_count(2, 2)
    with pytest.raises(ValueError, match="no image was given"):
        check_image_count(1, 0)
    with pytest.raises(ValueError, match="no <image> marker"):
        check_image_count(0, 1)
    with pytest.raises(ValueError, match="2 <image> marker"):
        check_image_count(2, 1)


def test_processor_expands_to_exact_token_count(processor):
    enc = processor("<image> describe this product", images=[Image.new("RGB", (10, 10))])
    assert int((enc["input_ids"] == processor.image_token_id).sum()) == 4
    assert enc["pixel_values"].shape == (1, 3, 64, 64)
    two = processor("<image> <image> describe", images=[Image.new("RGB", (5, 5))] * 2)
    assert int((two["input_ids"] == processor.image_token_id).sum()) == 8


def test_processor_rejects_token_image_mismatch(processor):
    with pytest.raises(ValueError, match="no image was given"):
        processor("<image> describe")
    with pytest.raises(ValueError, match="no <image> marker"):
        processor("describe", images=[Image.new("RGB", (4, 4))])


@pytest.mark.parametrize("mode,size", [("RGBA", (40, 30)), ("L", (17, 90)), ("1", (1, 1)), ("P", (3, 5)),
                                       ("CMYK", (8, 8)), ("I;16", (12, 12)), ("RGB", (1, 1000))])
def test_any_mode_and_size(mode, size):
    proc = EffnetImageProcessor(64, 64)
    arr = proc.preprocess_one(Image.new(mode, size))
    assert arr.shape == (3, 64, 64) and np.isfinite(arr).all()
    assert arr.min() >= -1.0 and arr.max() <= 1.0


def test_transparent_is_flattened_on_white():
    arr = EffnetImageProcessor(32, 32).preprocess_one(Image.new("RGBA", (10, 10), (255, 0, 0, 0)))
    assert np.allclose(arr, 1.0)  # (255-127)/128 = 1.0: white


def test_bad_images_raise_clear_errors(tmp_path):
    proc = EffnetImageProcessor(64, 64)
    with pytest.raises(ImageError, match="not an image"):
        proc.preprocess_one(b"definitely not a png")
    with pytest.raises(ImageError, match="file not found"):
        proc.preprocess_one(tmp_path / "missing.jpg")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 128, 0)).save(buf, format="PNG")
    with pytest.raises(ImageError):
        proc.preprocess_one(buf.getvalue()[: len(buf.getvalue()) // 2])  # truncated
    with pytest.raises(ImageError, match="pixel limit"):
        proc.preprocess_one(Image.new("L", (8000, 8000)))


def test_content_to_text():
    assert content_to_text([{"type": "image"}, {"type": "text", "text": "hi"}]) == "<image>\nhi"
    with pytest.raises(ValueError, match="unknown content part"):
        content_to_text([{"type": "video"}])
