"""Product embeddings: encoders plus the alignment adaptor, and the fingerprint a store keeps."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image

from adapters.alignment import AlignmentAdaptor
from adapters.config import BulkEncoding
from adapters.encoders import ImageEncoder, TextEncoder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderFingerprint:
    """Which models and adaptor produced a set of vectors. Two stores agree iff these are equal."""

    image_encoder: str
    text_encoder: str
    alignment: str  # the adaptor's weight hash, or "identity"
    shared_dim: int
    text_dim: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "EncoderFingerprint":
        return cls(**json.loads(text))

    def describe(self) -> str:
        return (f"image={self.image_encoder}, text={self.text_encoder}, alignment={self.alignment}, "
                f"dims shared={self.shared_dim} text={self.text_dim}")


class ProductEncoder:
    """Embeds images and texts for the store.

    Two spaces: the text encoder's own space (``embed_texts``: product text against query
    text) and the shared aligned space (``embed_images`` / ``embed_texts_shared``), where
    images and texts are comparable.
    """

    def __init__(self, image_encoder: ImageEncoder, text_encoder: TextEncoder,
                 alignment: AlignmentAdaptor | None, alignment_name: str):
        if alignment is None and image_encoder.dim != text_encoder.dim:
            raise ValueError(
                f"without an alignment adaptor the encoders must share a space, but image dim "
                f"{image_encoder.dim} != text dim {text_encoder.dim}"
            )
        if alignment is not None:
            cfg = alignment.config
            if (cfg.image_dim, cfg.text_dim) != (image_encoder.dim, text_encoder.dim):
                raise ValueError(
                    f"alignment adaptor {alignment_name} expects image/text features of "
                    f"{cfg.image_dim}/{cfg.text_dim} dims, but the encoders give "
                    f"{image_encoder.dim}/{text_encoder.dim} ({image_encoder.name}, {text_encoder.name}); "
                    "retrain it with `shopassist train-alignment`"
                )
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder
        self.alignment = alignment.eval() if alignment is not None else None
        self.fingerprint = EncoderFingerprint(
            image_encoder=image_encoder.name,
            text_encoder=text_encoder.name,
            alignment=alignment_name,
            shared_dim=alignment.config.shared_dim if alignment is not None else image_encoder.dim,
            text_dim=text_encoder.dim,
        )

    def for_ingest(self, products: int, mode: str = "auto") -> tuple["ProductEncoder", BulkEncoding]:
        """(encoder, speed-ups) for ingesting ``products`` products: see
        :func:`adapters.loading.device.bulk_encoding`."""
        from adapters.loading.device import bulk_encoding

        device = "cpu" if all(getattr(e, "device", torch.device("cpu")).type == "cpu"
                              for e in (self.image_encoder, self.text_encoder)) else "gpu"
        bulk = bulk_encoding(products, mode, device)
        return self.for_bulk(bulk), bulk

    def for_bulk(self, bulk: BulkEncoding) -> "ProductEncoder":
        """This encoder with ``bulk``'s speed-ups (same weights, fingerprint and, to within
        bf16 rounding, answers), for ingestion. Encoders without such a mode are kept as they are."""
        image, text = self.image_encoder, self.text_encoder
        if bulk.compile_images and hasattr(image, "compiled"):
            image = image.compiled()
        if bulk.bf16_text and hasattr(text, "in_bf16"):
            text = text.in_bf16()
        if image is self.image_encoder and text is self.text_encoder:
            return self
        view = copy.copy(self)
        view.image_encoder, view.text_encoder = image, text
        return view

    # raw features (what the adaptor is trained on)
    def image_features(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.image_encoder.encode(images)

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        return self.text_encoder.encode(texts)

    # aligned space
    @torch.inference_mode()
    def embed_image_features(self, feats: torch.Tensor) -> np.ndarray:
        out = feats if self.alignment is None else self.alignment.embed_image(feats)
        return torch.nn.functional.normalize(out.float(), dim=-1).numpy()

    @torch.inference_mode()
    def embed_text_features_shared(self, feats: torch.Tensor) -> np.ndarray:
        out = feats if self.alignment is None else self.alignment.embed_text(feats)
        return torch.nn.functional.normalize(out.float(), dim=-1).numpy()

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.embed_image_features(self.image_features(images))

    def read_images(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, list[dict] | None]:
        """(aligned embeddings, attribute readings or None) with one pass of the image encoder.
        Readings: attribute -> {value: probability} from a tuned tower's heads."""
        feats = self.image_features(images)
        reader = getattr(self.image_encoder, "attribute_probs", None)
        return self.embed_image_features(feats), (reader(feats) if reader else None)

    def embed_texts_shared(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_text_features_shared(self.text_features(texts))

    def known_words(self) -> frozenset[str]:
        """Whole words of the text encoder's tokenizer vocabulary (WordPiece: everyday English),
        empty when it has none: words a request reader should take as written, not as typos."""
        tokenizer = getattr(self.text_encoder, "tokenizer", None)
        if tokenizer is None:  # a sentence-transformers model holds it on the model
            tokenizer = getattr(getattr(self.text_encoder, "model", None), "tokenizer", None)
        vocab = tokenizer.get_vocab() if tokenizer is not None and hasattr(tokenizer, "get_vocab") else {}
        return frozenset(w for w in vocab if w.isalpha() and w.islower())

    # text space
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.text_features(texts).numpy()

    def embed_texts_both(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(text-space, shared-space) embeddings with one pass of the text encoder."""
        feats = self.text_features(texts)
        return feats.numpy(), self.embed_text_features_shared(feats)
