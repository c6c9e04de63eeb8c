"""The packaged all-MiniLM-L6-v2 through transformers alone gives the vectors sentence-transformers
gives (fp32 and the bf16 view ingestion uses), under the same name, so stores built before are
still accepted; and loading it does not import sentence-transformers (seconds at start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from adapters.config import TextEncoderConfig
from adapters.encoders import MeanPoolingTextEncoder, SentenceTransformerTextEncoder
from adapters.loading.encoders import load_text_encoder, mean_pooling_max_length, minilm_folder
from tests.conftest import REPO

pytestmark = pytest.mark.integration

TEXTS = [
    "red tshirts for men", "Nike Men Black Casual Shoes. Men Black Casual Shoes, Casual", "a", "", " ",
    "navy blue jeans for women under 40", "something like this but in red!!", "Watches", "WATCHES for MEN",
    "café crème – naïve façade", "🙂 emoji socks", "50% off", "kurta for women, ethnic", "sandals size 9",
    "Titan Women Silver Watch. Women Silver Watches, Formal", "a gold watch", "not black", "cheaper ones",
    "show me sports shoes for boys", "Puma Men Grey T-shirt. Men Grey Tshirts, Sports",
    " ".join(["long"] * 400),  # past max_seq_length: truncated alike
    "Fastrack Unisex Black Sunglasses", "handbag", "formal shirts for men in white or light blue",
    "Jockey Women Pink Briefs. Women Pink Briefs, Casual", "skirt", "leggings under 20", "caps",
    "ADIDAS ORIGINALS Men Black Track Pants", "belts for men", "a dress like the one in this photo, but in red",
    "perfume", "ear rings", "Wallets", "tops for girls", "flip flops", "backpack for school", "sarees",
    "jackets for winter", "\tshirts\n", "blue", "x" * 3000,
]


@pytest.fixture(scope="module")
def encoders():
    fast = load_text_encoder(TextEncoderConfig(batch_size=8), torch.device("cpu"))
    # the same folder through sentence-transformers: the other-folder option, and the reference
    reference = load_text_encoder(TextEncoderConfig(path=str(minilm_folder()), batch_size=8), torch.device("cpu"))
    return fast, reference


def test_the_packaged_default_keeps_its_name_and_dimension(encoders):
    fast, reference = encoders
    assert isinstance(fast, MeanPoolingTextEncoder) and isinstance(reference, SentenceTransformerTextEncoder)
    assert (fast.name, fast.dim, fast.max_seq_length) == ("all-MiniLM-L6-v2", 384, 256)  # the store fingerprint's name
    assert reference.name == "st:model"


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_same_vectors_as_sentence_transformers(encoders, bf16):
    fast, reference = encoders
    if bf16:
        fast, reference = fast.in_bf16(), reference.in_bf16()
        assert fast.bf16 and fast.name == "all-MiniLM-L6-v2"
    a, b = fast.encode(TEXTS), reference.encode(TEXTS)  # 42 texts: 6 batches of 8 (a short last one)
    assert a.shape == b.shape == (len(TEXTS), 384) and a.dtype == torch.float32
    assert float((a - b).abs().max()) < 1e-5
    torch.testing.assert_close(a.norm(dim=1), torch.ones(len(TEXTS)))
    assert fast.encode([]).shape == (0, 384)


def test_one_text_alone_or_in_a_batch_is_the_same_vector(encoders):
    fast, _ = encoders
    together = fast.encode(TEXTS[:10])
    alone = torch.cat([fast.encode([t]) for t in TEXTS[:10]])
    assert float((together - alone).abs().max()) < 1e-5


def test_a_folder_the_transformers_path_would_read_differently_is_refused(tmp_path):
    for name in ("modules.json", "sentence_bert_config.json"):
        (tmp_path / name).write_text((minilm_folder() / name).read_text())
    (tmp_path / "1_Pooling").mkdir()
    pooling = json.loads((minilm_folder() / "1_Pooling" / "config.json").read_text())
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert mean_pooling_max_length(tmp_path) == 256
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_mean_tokens": False,
                                                                   "pooling_mode_cls_token": True}))
    with pytest.raises(ValueError, match="not a plain mean-pooled"):
        mean_pooling_max_length(tmp_path)


def test_loading_the_default_does_not_import_sentence_transformers():
    code = ("import sys, torch\n"
            "from adapters.config import TextEncoderConfig\n"
            "from adapters.loading.encoders import load_text_encoder\n"
            "enc = load_text_encoder(TextEncoderConfig(), torch.device('cpu'))\n"
            "enc.encode(['red shirt'])\n"
            "print(sorted(m for m in ('sentence_transformers', 'sklearn') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
