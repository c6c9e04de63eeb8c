"""One settings object for paths, model choices and the Chroma location.

Every field can be set by an environment variable ``SHOPASSIST_<FIELD>`` (for example
``SHOPASSIST_STORE_DIR=/data/store``, ``SHOPASSIST_CHROMA_HOST=127.0.0.1``) or a ``.env``
file; command-line flags override both. The component configs handed to ``adapters`` and
``retrieval`` are small frozen dataclasses derived from it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.config import (
    DEFAULT_ALIGNMENT_DIR,
    DEFAULT_TOWER_DIR,
    EncoderConfig,
    ImageEncoderConfig,
    TextEncoderConfig,
)
from adapters.offline import OFFLINE_ENV, apply_offline_defaults  # noqa: F401  (re-exported for the layers above)
from retrieval.catalog import SAMPLE_CATALOG
from retrieval.store import StoreConfig

logger = logging.getLogger(__name__)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPASSIST_", env_file=".env", extra="ignore", frozen=True)

    # data and store
    catalog: Path = SAMPLE_CATALOG
    store_dir: Path = Path(".store")
    chroma_host: str | None = Field(None, description="use a Chroma server (`chroma run`) instead of a local folder")
    chroma_port: int = 8000
    collection: str = "products"

    # retrieval encoders
    image_encoder: Literal["efficientnet-lite0", "hf-clip"] = "efficientnet-lite0"
    image_encoder_path: str | None = None
    text_encoder: Literal["sentence-transformers", "hf-clip"] = "sentence-transformers"
    text_encoder_path: str | None = None
    alignment_dir: str | None = DEFAULT_ALIGNMENT_DIR  # "none" for encoders that are already aligned
    image_tower_dir: str | None = DEFAULT_TOWER_DIR  # catalog-tuned EfficientNet blocks; "none": ImageNet only
    device: str = "auto"

    # image generation (see adapters/generation): a local diffusers folder, or a server's URL
    diffusion_checkpoint: str | None = None
    image_generator_url: str | None = None
    # the embedded model's text side: "prompt" (its MiniLM reads the prompt) or "llm" (SmolLM2's
    # hidden states through the trained output projector, adapters/weights/output_projector)
    generation_text_side: Literal["prompt", "llm"] = "prompt"

    # the multimodal LLM that writes replies and describes images
    mllm_base: str = "embedded"  # or a local llava-hf checkpoint folder
    mllm_adapter: str | None = None  # None: the trained adaptors shipped in adapters/weights/mllm
    mllm_backend: Literal["auto", "transformers", "llama.cpp", "openai"] = "auto"  # auto: llama.cpp when installed
    mllm_server_url: str | None = None  # backend "openai": an OpenAI-compatible endpoint (text only)
    # How requests are read: "words" (retrieval.reader), "parser" (the catalog-vocabulary parser only, the
    # baseline), "llm" (the LLM's grammar-constrained reading alone), "words+llm" (words first, the LLM
    # fills what they left open; assistant/llm_reader.py). The LLM readers use reader_adapter.
    request_reader: Literal["words", "parser", "llm", "words+llm"] = "words"
    reader_adapter: str | None = None  # None: the shipped request-reader adaptor (adapters/weights/reader)
    reader_fill: Literal["soft", "filter"] = "soft"  # words+llm: the LLM's facets as preferences or as filters
    # a photo that is the shop's own product shot is read from that product's record; off: every photo is read
    # by the tower and its look-alikes (what evaluations of the picture reading use: the store holds their photos)
    recognise_pictures: bool = True
    mllm_threads: int = Field(0, ge=0, description="llama.cpp threads of the explaining LLM (0: every core)")
    reader_threads: int = Field(1, ge=0, description="llama.cpp threads of the request reader (0: every core)")
    explanations: Literal["llm", "facts"] = "llm"  # "facts": no LLM, the checked facts only (fast)
    # "llm": the LLM adds a comment after the reply's lead. Off by default: the embedded 135M model's
    # comments restated the lead with one product's price for all five (README, "Explanations").
    reply_comment: Literal["none", "llm"] = "none"
    max_upload_mb: float = Field(20.0, gt=0, description="uploads above this are refused before decoding")

    @field_validator("alignment_dir", "image_tower_dir", mode="before")
    @classmethod
    def _none_word(cls, v):
        return None if isinstance(v, str) and v.lower() in ("", "none", "identity") else v

    def encoder_config(self) -> EncoderConfig:
        return EncoderConfig(
            image=ImageEncoderConfig(kind=self.image_encoder, path=self.image_encoder_path,
                                     tower_dir=self.image_tower_dir),
            text=TextEncoderConfig(kind=self.text_encoder, path=self.text_encoder_path),
            alignment_dir=self.alignment_dir,
            device=self.device,
        )

    def mllm_config(self):
        from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR, MLLMConfig

        return MLLMConfig(base=self.mllm_base, adapter_path=self.mllm_adapter or DEFAULT_MLLM_ADAPTER_DIR,
                          device=self.device, backend=self.mllm_backend, tower_dir=self.image_tower_dir,
                          server_url=self.mllm_server_url, n_threads=self.mllm_threads)

    def reader_mllm_config(self):
        """The LLM the request reader asks (text only): the reader's own adaptor, ``reader_threads``
        llama.cpp threads (one by default, so that it decodes in the asking thread and never waits
        behind the explanations on the model thread; see :mod:`adapters.compute`)."""
        from adapters.mllm.config import DEFAULT_READER_ADAPTER_DIR, MLLMConfig

        return MLLMConfig(base=self.mllm_base, adapter_path=self.reader_adapter or DEFAULT_READER_ADAPTER_DIR,
                          device=self.device, backend=self.mllm_backend, tower_dir=self.image_tower_dir,
                          server_url=self.mllm_server_url, n_ctx=1024, n_threads=self.reader_threads)

    def image_limits(self):
        from adapters.imaging import ImageLimits

        return ImageLimits(max_bytes=int(self.max_upload_mb * 1024 * 1024))

    def store_config(self) -> StoreConfig:
        return StoreConfig(
            path=str(self.store_dir), host=self.chroma_host, port=self.chroma_port, collection=self.collection
        )
