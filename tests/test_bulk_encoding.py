"""Ingestion's speed-ups: the batched colour histogram, the compiled image backbone's view
(padding, chunking, eager fallback), bf16 text, the policy that picks them, and store writes
coalesced across encoded batches."""

import copy

import numpy as np
import pytest
import torch

from adapters.alignment import AlignmentAdaptor
from adapters.config import AlignmentConfig, BulkEncoding, ImageEncoderConfig
from adapters.encoders import EfficientNetImageEncoder, SentenceTransformerTextEncoder, colour_histogram, colour_histograms
from adapters.imaging import fit_to_canvas, load_image
from adapters.loading import load_efficientnet_backbone
from adapters.loading import device as device_mod
from adapters.product_encoder import ProductEncoder
from retrieval.catalog import read_catalog
from retrieval.ingest import ingest
from retrieval.store import ProductStore
from tests.helpers import ColourImageEncoder, HashTextEncoder, shared_client, shirt_image, toy_catalog


def test_batched_colour_histograms_equal_the_per_image_ones():
    rng = np.random.default_rng(0)
    shots = [fit_to_canvas(shirt_image(c, s), (96, 128)) for c in ("Red", "Blue", "Black") for s in ("shirt", "shoe")]
    noise = rng.integers(0, 256, size=(2, 128, 96, 3), dtype=np.uint8)
    white = np.full((1, 128, 96, 3), 255, np.uint8)  # almost all white: every pixel counts
    batch = np.concatenate([np.stack([np.asarray(s) for s in shots]), noise, white])
    for bins in (2, 4):
        want = np.stack([colour_histogram(img.astype(np.float32) / np.float32(255.0), bins) for img in batch])
        np.testing.assert_array_equal(colour_histograms(batch, bins), want)


@pytest.fixture(scope="module")
def image_encoder():
    torch.manual_seed(0)
    return EfficientNetImageEncoder(load_efficientnet_backbone(pretrained=False), ImageEncoderConfig(),
                                    torch.device("cpu"))


def test_compiled_view_pads_and_chunks_to_one_shape_with_the_same_answers(image_encoder, monkeypatch,
                                                                          one_torch_thread):
    shapes = []

    def fake_compile(fn, dynamic, options):  # inductor's answer is the eager one; what matters here is the shape
        assert dynamic is False and options == {"freezing": True}

        def run(x):
            shapes.append(tuple(x.shape))
            return fn(x)
        return run

    monkeypatch.setattr(torch, "compile", fake_compile)
    view = image_encoder.compiled(4)
    assert image_encoder.compiled(4) is view and view.name == image_encoder.name  # made once, same fingerprint
    images = [shirt_image(c, s) for c in ("Red", "Blue", "Green") for s in ("shirt", "shoe")]
    for n in (1, 4, 6):
        torch.testing.assert_close(view.encode(images[:n]), image_encoder.encode(images[:n]), atol=1e-5, rtol=0)
    assert set(shapes) == {(4, 3, 128, 96)}  # 1 -> padded to 4; 6 -> 4 + (2 padded to 4)
    shapes.clear()
    default = image_encoder.compiled()  # the encoder's own pass size
    assert default is image_encoder.compiled(image_encoder.cfg.batch_size)
    default.encode(images)
    assert shapes == [(image_encoder.cfg.batch_size, 3, 128, 96)]


def test_the_backbone_runs_in_passes_of_the_configured_size_with_the_same_answers(image_encoder, monkeypatch,
                                                                                  one_torch_thread):
    images = [shirt_image(c, s) for c in ("Red", "Blue", "Green") for s in ("shirt", "shoe")]
    whole = image_encoder.encode(images)
    small = copy.copy(image_encoder)
    small.cfg = ImageEncoderConfig(batch_size=4)
    passes = []
    real = image_encoder._pooled
    monkeypatch.setattr(small, "_pooled", lambda x: passes.append(len(x)) or real(x))
    torch.testing.assert_close(small.encode(images), whole, atol=1e-5, rtol=0)
    assert passes == [4, 2]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        ImageEncoderConfig(batch_size=0)


def test_compiled_view_falls_back_to_eager_when_compiling_fails(image_encoder, monkeypatch, caplog,
                                                               one_torch_thread):
    def broken_compile(fn, dynamic, options):
        def run(x):
            raise RuntimeError("no C++ compiler found\nlong trace")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    view = image_encoder.compiled(3)
    images = [shirt_image("Red"), shirt_image("Blue", "shoe")]
    torch.testing.assert_close(view.encode(images), image_encoder.encode(images), atol=1e-5, rtol=0)
    assert view._pooled.failed == "RuntimeError: no C++ compiler found"
    assert "encoding eagerly" in caplog.text


class _TinySentenceModel:
    """What SentenceTransformerTextEncoder calls on a sentence-transformers model: a bag of
    hashed words through a linear layer, so autocast has a matmul to change."""

    device = torch.device("cpu")

    def __init__(self):
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(64, 32)
        self.seen_dtypes = []

    def get_embedding_dimension(self):
        return 32

    def encode(self, texts, batch_size, convert_to_tensor, normalize_embeddings, show_progress_bar):
        bags = HashTextEncoder(64).encode(texts)
        out = self.linear(bags)
        self.seen_dtypes.append(out.dtype)
        return torch.nn.functional.normalize(out.float(), dim=-1)


def test_bf16_text_view_runs_under_autocast_and_stays_close_to_fp32():
    model = _TinySentenceModel()
    fp32 = SentenceTransformerTextEncoder(model, "tiny")
    bf16 = fp32.in_bf16()
    texts = ["red shirt for men", "navy blue jeans", "a gold watch"]
    a, b = fp32.encode(texts), bf16.encode(texts)
    assert model.seen_dtypes == [torch.float32, torch.bfloat16] and b.dtype == torch.float32
    assert bf16.name == fp32.name and not fp32.bf16
    assert float((a * b).sum(dim=1).min()) > 0.999
    torch.testing.assert_close(b.norm(dim=1), torch.ones(3))


def test_bulk_policy(monkeypatch):
    monkeypatch.setattr(device_mod, "native_bf16", lambda: True)
    monkeypatch.setattr(device_mod.shutil, "which", lambda name: "/usr/bin/" + name)
    few = device_mod.bulk_encoding(100)
    many = device_mod.bulk_encoding(device_mod.COMPILE_MIN_PRODUCTS)
    assert (few.bf16_text, few.compile_images) == (True, False) and many.compile_images
    assert device_mod.bulk_encoding(10**6, "off") == BulkEncoding()
    assert device_mod.bulk_encoding(1, "on") == BulkEncoding(True, True)
    assert device_mod.bulk_encoding(10**6, "auto", device="gpu") == BulkEncoding()
    monkeypatch.setattr(device_mod.shutil, "which", lambda name: None)  # no compiler: no compile
    monkeypatch.setattr(device_mod, "native_bf16", lambda: False)  # emulated bf16 is slower: no bf16
    assert device_mod.bulk_encoding(10**6) == BulkEncoding()
    with pytest.raises(ValueError, match="bulk encoding mode 'fast'"):
        device_mod.bulk_encoding(1, "fast")
    assert BulkEncoding(True, True).describe() == "compiled image backbone, bf16 text encoder"


def test_for_bulk_keeps_the_fingerprint_and_swaps_only_what_has_a_fast_mode(image_encoder):
    text = SentenceTransformerTextEncoder(_TinySentenceModel(), "tiny")
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=image_encoder.dim, text_dim=32, shared_dim=8)).eval()
    enc = ProductEncoder(image_encoder, text, adaptor, "a")
    fast = enc.for_bulk(BulkEncoding(compile_images=True, bf16_text=True))
    assert fast.fingerprint == enc.fingerprint and fast.alignment is enc.alignment
    assert fast.text_encoder.bf16 and fast.image_encoder is image_encoder.compiled()
    assert enc.text_encoder is text and enc.image_encoder is image_encoder  # the original is untouched
    hashing = ProductEncoder(ColourImageEncoder(), HashTextEncoder(32),
                             AlignmentAdaptor(AlignmentConfig(image_dim=4, text_dim=32, shared_dim=8)), "h")
    assert hashing.for_bulk(BulkEncoding(True, True)) is hashing  # nothing to speed up


def test_store_writes_are_coalesced_across_encoded_batches(tmp_path):
    catalog = read_catalog(toy_catalog(tmp_path))  # 16 products
    adaptor = AlignmentAdaptor(AlignmentConfig(image_dim=4, text_dim=32, shared_dim=8, image_projector="linear"))
    encoder = ProductEncoder(ColourImageEncoder(), HashTextEncoder(32), adaptor.eval(), "toy")
    for write_rows, writes in ((1, 8), (5, 3), (1024, 1)):  # batches of 2: 8 batches
        store = ProductStore(shared_client(), f"coalesce{write_rows}", encoder.fingerprint)
        sizes = []
        real = store.upsert

        def counting(products, *rest, _real=real, _sizes=sizes):
            _sizes.append(len(products))
            return _real(products, *rest)

        store.upsert = counting
        report = ingest(catalog, store, encoder, load_image, batch_size=2, write_rows=write_rows, progress=False)
        assert report.added == 16 and store.count() == 16 and sum(sizes) == 16 and len(sizes) == writes, sizes
    with pytest.raises(ValueError, match="write_rows"):
        ingest(catalog, store, encoder, load_image, write_rows=0, progress=False)
