"""The catalog-tuned image tower: saving and applying its weights, training it, and the
checks that keep encoders, stores and adaptors from mixing towers."""

from __future__ import annotations

import json

import pytest
import torch

from adapters.config import ImageEncoderConfig
from adapters.loading.encoders import load_efficientnet_backbone, load_image_encoder
from adapters.tower import (
    AttributeHeads,
    TowerConfig,
    apply_tower,
    load_heads,
    read_tower_config,
    save_tower,
    tower_id,
    tuned_prefixes,
)
from retrieval.catalog import split_of
from tests.helpers import COLOURS, shirt_image, write_catalog

CLASSES = {"article_type": ["Shirts", "Shoes"], "base_colour": ["Black", "Red", "Blue"]}


def _saved_tower(tmp_path, seed: int = 1):
    torch.manual_seed(seed)
    backbone = load_efficientnet_backbone(pretrained=False)
    with torch.no_grad():
        backbone._blocks[12]._project_conv.weight.normal_()
    heads = AttributeHeads(CLASSES)
    out = save_tower(backbone, heads, TowerConfig(train_from_block=11, classes=CLASSES), tmp_path / f"tower{seed}")
    return backbone, heads, out


def test_save_apply_round_trip_changes_only_the_tuned_blocks(tmp_path):
    tuned, heads, folder = _saved_tower(tmp_path)
    torch.manual_seed(7)
    target = load_efficientnet_backbone(pretrained=False)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    cfg = apply_tower(target, folder)
    assert cfg.train_from_block == 11 and cfg.classes == CLASSES
    prefixes = tuned_prefixes(11)
    for k, v in target.state_dict().items():
        if k.startswith(prefixes):  # saved in fp16: equal to fp16 precision
            torch.testing.assert_close(v, tuned.state_dict()[k], atol=2e-3, rtol=2e-3)
        else:
            assert torch.equal(v, before[k]), k
    back = load_heads(folder)
    torch.testing.assert_close(back.heads["base_colour"].weight, heads.heads["base_colour"].weight, atol=1e-3, rtol=1e-3)


def test_tower_id_names_the_weights(tmp_path):
    _, _, a = _saved_tower(tmp_path, seed=1)
    _, _, b = _saved_tower(tmp_path, seed=2)
    assert tower_id(None) == "imagenet"
    assert tower_id(a).startswith("tuned-") and tower_id(a) == tower_id(a) != tower_id(b)
    with pytest.raises(FileNotFoundError, match="train-tower"):
        tower_id(tmp_path / "nowhere")


def test_a_tower_saved_for_other_blocks_is_refused(tmp_path):
    _, _, folder = _saved_tower(tmp_path)
    meta = json.loads((folder / "config.json").read_text())
    meta["train_from_block"] = 8  # the file holds blocks 11.. only
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="does not fit EfficientNet-Lite0"):
        apply_tower(load_efficientnet_backbone(pretrained=False), folder)
    assert read_tower_config(folder).train_from_block == 8


def test_encoder_name_and_attribute_readings_follow_the_tower(tmp_path):
    _, _, folder = _saved_tower(tmp_path)
    enc = load_image_encoder(ImageEncoderConfig(tower_dir=str(folder)), torch.device("cpu"))
    plain = load_image_encoder(ImageEncoderConfig(tower_dir=None), torch.device("cpu"))
    assert tower_id(folder) in enc.name and "tuned" not in plain.name  # so a store refuses the other one
    feats = enc.encode([shirt_image("Red"), shirt_image("Blue", "shoe")])
    readings = enc.attribute_probs(feats)
    assert plain.attribute_probs(plain.encode([shirt_image("Red")])) is None
    assert len(readings) == 2 and set(readings[0]) == set(CLASSES)
    for r in readings:
        assert set(r["base_colour"]) == set(CLASSES["base_colour"])
        assert sum(r["base_colour"].values()) == pytest.approx(1.0, abs=1e-5)


def _colour_catalog(folder):
    rows, images = [], {}
    for i in range(90):
        colour = list(COLOURS)[i % len(COLOURS)]
        kind, shape = (("Tshirts", "shirt"), ("Casual Shoes", "shoe"))[(i // len(COLOURS)) % 2]
        pid = f"t{i}"
        rows.append({"id": pid, "title": f"{colour} {kind}", "gender": ("Men", "Women")[i % 2], "article_type": kind,
                     "base_colour": colour, "usage": "Casual", "price": "10", "image": f"images/{pid}.png"})
        images[pid] = shirt_image(colour, shape)
    assert {"train", "val"} <= {split_of(r["id"]) for r in rows}
    return write_catalog(folder, rows, images)


def test_training_writes_a_tower_that_loads_back(tmp_path, one_torch_thread):
    from finetune.train_tower import TowerRunConfig, train

    catalog = _colour_catalog(tmp_path / "cat")
    out = tmp_path / "tower"
    result = train(TowerRunConfig(catalog=str(catalog), out=str(out), cache_dir=str(tmp_path / "cache"),
                                  sizes=((64, 64),), epochs=2, batch_size=16, min_class_count=2))
    assert {"train_loss", "val_article_type_acc", "val_base_colour_acc"} <= set(result["best"])
    assert len(result["history"]) == 2 and result["history"][1]["train_loss"] < result["history"][0]["train_loss"]
    for name in ("tower.safetensors", "config.json", "training.json", "training_curves.png"):
        assert (out / name).is_file(), name
    assert set(read_tower_config(out).classes["base_colour"]) == set(COLOURS)
    backbone = load_efficientnet_backbone(pretrained=True, tower_dir=str(out))
    assert not torch.equal(backbone._conv_head.weight, load_efficientnet_backbone(pretrained=True)._conv_head.weight)


def test_alignment_trained_on_another_encoder_is_refused(tmp_path):
    from adapters.alignment import AlignmentAdaptor, save_alignment
    from adapters.config import AlignmentConfig, EncoderConfig
    from adapters.loading.encoders import load_product_encoder

    enc_cfg = ImageEncoderConfig(tower_dir=None)
    image = load_image_encoder(enc_cfg, torch.device("cpu"))
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=image.dim, text_dim=384))
    folder = save_alignment(adaptor, tmp_path / "align", extra={"image_encoder": "efficientnet-lite0[tuned-0]@96x128"})
    with pytest.raises(ValueError, match="retrain it with `shopassist train-alignment`"):
        load_product_encoder(EncoderConfig(image=enc_cfg, alignment_dir=str(folder), device="cpu"))


def test_mllm_adaptors_for_another_tower_are_refused_before_loading(tmp_path):
    from adapters.loading.mllm import build_embedded, tower_config_for
    from adapters.mllm.configuration_effnet import EffnetVisionConfig

    _, _, folder = _saved_tower(tmp_path)
    assert tower_config_for(str(folder)).tower == tower_id(folder)
    assert tower_config_for(None).tower == "imagenet"
    with pytest.raises(ValueError, match="retrain the adaptors"):
        build_embedded(EffnetVisionConfig(tower="tuned-000000000000"), tower_dir=str(folder))
