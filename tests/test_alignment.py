import pytest
import torch

from adapters.alignment import AlignmentAdaptor, alignment_id, clip_loss, load_alignment, save_alignment
from adapters.config import AlignmentConfig, ImageEncoderConfig, ProjectorConfig
from adapters.encoders import EfficientNetImageEncoder, colour_histogram
from adapters.loading import load_efficientnet_backbone
from adapters.product_encoder import ProductEncoder
from adapters.projectors import build_projector
from tests.helpers import HashTextEncoder, shirt_image


@pytest.mark.parametrize("kind, layers", [("linear", 1), ("mlp2x_gelu", 2), ("mlp3x_gelu", 3)])
def test_projector_builder(kind, layers):
    proj = build_projector(ProjectorConfig(kind, in_dim=12, out_dim=8))
    linears = [m for m in proj.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == layers and linears[0].in_features == 12 and linears[-1].out_features == 8
    assert proj(torch.randn(3, 12)).shape == (3, 8)


def test_projector_config_rejects_unknown_and_bad_identity():
    with pytest.raises(ValueError, match="unknown projector"):
        ProjectorConfig("mlp_relu")
    with pytest.raises(ValueError, match="identity"):
        ProjectorConfig("identity", in_dim=4, out_dim=5)


def test_clip_loss_soft_labels_and_training_step_lowers_loss():
    torch.manual_seed(0)
    model = AlignmentAdaptor(AlignmentConfig(image_dim=20, text_dim=10, shared_dim=8))
    img, txt = torch.randn(32, 20), torch.randn(32, 10)
    labels = torch.arange(32) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = clip_loss(*model(img, txt), labels=labels, image_image_weight=0.5)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first * 0.7
    assert model.image_proj.layers[0].weight.grad is not None  # gradients reached the heads


def test_save_load_round_trip_is_exact(tmp_path):
    model = AlignmentAdaptor(AlignmentConfig(image_dim=20, text_dim=10, shared_dim=8)).eval()
    model.set_feature_stats(torch.randn(50, 20), torch.randn(50, 10))
    save_alignment(model, tmp_path)
    back = load_alignment(tmp_path)
    x = torch.randn(4, 20)
    assert torch.equal(model.embed_image(x), back.embed_image(x))
    assert alignment_id(tmp_path) == alignment_id(tmp_path) and len(alignment_id(tmp_path)) == 16


def test_load_alignment_missing_folder_has_a_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-alignment"):
        load_alignment(tmp_path / "nothing")


def test_colour_histogram_sees_the_product_not_the_background():
    import numpy as np

    red = colour_histogram(np.asarray(shirt_image("Red"), np.float32) / 255, 4)
    blue = colour_histogram(np.asarray(shirt_image("Blue"), np.float32) / 255, 4)
    assert red.shape == (64,) and red.argmax() != blue.argmax()
    assert abs(float((red**2).sum()) - 1.0) < 1e-5


def test_product_encoder_on_random_init_tower():
    image = EfficientNetImageEncoder(load_efficientnet_backbone(pretrained=False), ImageEncoderConfig(),
                                     torch.device("cpu"))
    text = HashTextEncoder(32)
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=image.dim, text_dim=32, shared_dim=16)).eval()
    enc = ProductEncoder(image, text, adaptor, "test")
    vecs = enc.embed_images([shirt_image("Red"), shirt_image("Blue", "shoe")])
    assert vecs.shape == (2, 16)
    assert abs(float((vecs[0] ** 2).sum()) - 1) < 1e-5
    assert enc.embed_texts_shared(["red shirt"]).shape == (1, 16) and enc.embed_texts(["x"]).shape == (1, 32)
    assert enc.fingerprint.shared_dim == 16 and enc.fingerprint.text_dim == 32


def test_product_encoder_refuses_mismatched_adaptor():
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=99, text_dim=32, shared_dim=16))
    image = EfficientNetImageEncoder(load_efficientnet_backbone(pretrained=False), ImageEncoderConfig(),
                                     torch.device("cpu"))
    with pytest.raises(ValueError, match="retrain"):
        ProductEncoder(image, HashTextEncoder(32), adaptor, "x")
