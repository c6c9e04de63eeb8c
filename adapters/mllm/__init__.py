"""The LLaVA-style multimodal LLM: EfficientNet-Lite0 tower -> projector -> language model.

Light imports only; models are built by :func:`adapters.loading.load_mllm`.
"""

from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR, EMBEDDED, MLLMConfig
from adapters.mllm.configuration_effnet import EffnetVisionConfig
from adapters.mllm.processing import IMAGE_TOKEN, MLLMProcessor

__all__ = ["DEFAULT_MLLM_ADAPTER_DIR", "EMBEDDED", "IMAGE_TOKEN", "EffnetVisionConfig", "MLLMConfig", "MLLMProcessor"]
