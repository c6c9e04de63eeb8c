"""A local CLIP checkpoint folder replaces the packaged encoders through the settings alone."""

import pytest
import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

from adapters.loading import load_product_encoder
from adapters.loading.diffusion import tiny_clip_tokenizer
from assistant.settings import Settings
from tests.helpers import shirt_image


@pytest.fixture
def clip_folder(tmp_path):
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                         vocab_size=600, max_position_embeddings=77),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=16,
    )
    CLIPModel(cfg).save_pretrained(tmp_path)
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                 crop_size={"height": 32, "width": 32}),
                              tokenizer=tiny_clip_tokenizer())
    processor.save_pretrained(tmp_path)
    return tmp_path


def test_settings_select_a_local_clip(clip_folder, monkeypatch):
    monkeypatch.setenv("SHOPASSIST_IMAGE_ENCODER", "hf-clip")
    monkeypatch.setenv("SHOPASSIST_IMAGE_ENCODER_PATH", str(clip_folder))
    monkeypatch.setenv("SHOPASSIST_TEXT_ENCODER", "hf-clip")
    monkeypatch.setenv("SHOPASSIST_TEXT_ENCODER_PATH", str(clip_folder))
    monkeypatch.setenv("SHOPASSIST_ALIGNMENT_DIR", "none")
    monkeypatch.setenv("SHOPASSIST_DEVICE", "cpu")
    encoder = load_product_encoder(Settings().encoder_config())
    images = encoder.embed_images([shirt_image("Red"), shirt_image("Blue", "shoe")])
    texts, shared = encoder.embed_texts_both(["a red shirt", "blue shoes"])
    assert images.shape == (2, 16) and shared.shape == (2, 16) and texts.shape == (2, 16)
    assert encoder.fingerprint.alignment == "identity"
    assert encoder.fingerprint.image_encoder == f"hf-clip:{clip_folder.name}"


def test_wrong_folder_is_a_clear_error(tmp_path):
    from adapters.config import EncoderConfig, ImageEncoderConfig

    with pytest.raises(FileNotFoundError, match="config.json"):
        load_product_encoder(EncoderConfig(image=ImageEncoderConfig(kind="hf-clip", path=str(tmp_path)),
                                           alignment_dir=None, device="cpu"))
