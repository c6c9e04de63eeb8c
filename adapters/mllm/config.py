"""``MLLMConfig``: which multimodal LLM to load and how to run it. Validated on construction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from adapters.config import DEFAULT_TOWER_DIR
from adapters.mllm.prompts import TRAINING_SYSTEM_PROMPT

EMBEDDED = "embedded"
# The trained adaptors that ship with the project (see README: `shopassist train-projector`,
# `shopassist train-lora`). A folder with ``mllm_adapter.json`` naming what it holds.
DEFAULT_MLLM_ADAPTER_DIR = str(Path(__file__).resolve().parents[1] / "weights" / "mllm")
# The request reader's adaptor (`shopassist train-lora --task request`): same layout, its own LoRA.
DEFAULT_READER_ADAPTER_DIR = str(Path(__file__).resolve().parents[1] / "weights" / "reader")
DTYPES = ("float32", "bfloat16", "float16")
BACKENDS = ("auto", "transformers", "llama.cpp", "openai")
DEFAULT_CACHE_DIR = "~/.cache/shopassist"


@dataclass(frozen=True)
class MLLMConfig:
    """``base``: ``"embedded"`` (EfficientNet-Lite0 tower + SmolLM2-135M-Instruct, both
    packaged) or a local llava-hf checkpoint folder. ``adapter_path``: a folder written by
    the fine-tuning scripts (projector and/or LoRA) or None for none (an untrained projector
    on the embedded base)."""

    base: str = EMBEDDED
    adapter_path: str | None = DEFAULT_MLLM_ADAPTER_DIR
    device: str = "auto"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    max_new_tokens: int = 128
    seed: int = 0
    merge_lora: bool = True  # fold LoRA into the weights for inference (faster decode)
    system_prompt: str = TRAINING_SYSTEM_PROMPT  # the adaptors were trained with it
    max_time_s: float = 60.0  # a decode stops after this long (transformers' max_time), whatever its length
    # Text decoding: "llama.cpp" runs the LLM (LoRA merged, exported to GGUF) in llama.cpp with
    # the projector's image rows as input embeddings; "transformers" runs LlavaForConditionalGeneration.
    # "auto": llama.cpp for the embedded model on CPU when llama-cpp-python is installed.
    # "openai": the text model behind an OpenAI-compatible endpoint (server_url), text only.
    backend: Literal["auto", "transformers", "llama.cpp", "openai"] = "auto"
    server_url: str | None = None  # e.g. http://127.0.0.1:8080/v1 (a llama_cpp.server, vLLM)
    server_model: str = "default"
    cache_dir: str = DEFAULT_CACHE_DIR  # exported GGUF files
    n_ctx: int = 4096  # llama.cpp context (prompt + reply tokens)
    # llama.cpp threads, prompts and steps alike (0: every core). More than one: the context decodes
    # on the process's model thread only, and the assistant runs torch on one thread
    # (adapters.compute explains why: two OpenMP pools make every decode step about 3x slower).
    n_threads: int = 0
    tower_dir: str | None = DEFAULT_TOWER_DIR  # the tuned vision tower, when the adaptors name one

    def __post_init__(self) -> None:
        if not self.base:
            raise ValueError("MLLMConfig: base must be 'embedded' or a checkpoint folder")
        if self.base != EMBEDDED and not Path(self.base).expanduser().is_dir():
            raise FileNotFoundError(f"MLLMConfig: base checkpoint folder {self.base} does not exist")
        if self.dtype not in DTYPES:
            raise ValueError(f"MLLMConfig: dtype must be one of {DTYPES}")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError("MLLMConfig: device must be auto, cpu or cuda[:N]")
        if not 1 <= self.max_new_tokens <= 4096:
            raise ValueError("MLLMConfig: max_new_tokens must be in 1..4096")
        if self.seed < 0:
            raise ValueError("MLLMConfig: seed must be >= 0")
        if self.backend not in BACKENDS:
            raise ValueError(f"MLLMConfig: backend must be one of {BACKENDS}")
        if self.backend == "llama.cpp" and not self.embedded:
            raise ValueError("MLLMConfig: the llama.cpp backend serves the embedded model; use "
                             "backend='transformers' for a llava-hf checkpoint")
        if self.backend == "openai" and not self.server_url:
            raise ValueError("MLLMConfig: the openai backend needs server_url (an OpenAI-compatible endpoint)")
        if self.n_threads < 0:
            raise ValueError("MLLMConfig: n_threads must be >= 0 (0: every core)")
        if not 256 <= self.n_ctx <= 32768:
            raise ValueError("MLLMConfig: n_ctx must be in 256..32768")
        if not self.max_time_s > 0:
            raise ValueError("MLLMConfig: max_time_s must be positive")

    @property
    def embedded(self) -> bool:
        return self.base == EMBEDDED
