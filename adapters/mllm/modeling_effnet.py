"""The EfficientNet-Lite0 tower as a transformers ``PreTrainedModel`` (LLaVA's vision_tower).

``register_effnet()`` adds it to the Auto classes; call it before building or loading a
``LlavaConfig`` that names it. The tower has BatchNorm: keep it in ``eval()`` while the
projector or LoRA trains (``freeze_tower``), or its statistics drift with the batch.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPooling

from adapters.mllm.configuration_effnet import EFFNET_MODEL_TYPE, STRIDE, EffnetVisionConfig

logger = logging.getLogger(__name__)


def patch_colour_histogram(pixel_values: torch.Tensor, bins: int) -> torch.Tensor:
    """(B, 3, H, W) normalised pixels -> (B, H/32 * W/32, bins**3) sqrt RGB histograms per cell."""
    rgb = ((pixel_values * 128.0 + 127.0) / 255.0).clamp(0.0, 1.0)
    q = torch.clamp((rgb * bins).long(), max=bins - 1)
    idx = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]  # (B, H, W)
    onehot = F.one_hot(idx, bins**3).permute(0, 3, 1, 2).to(pixel_values.dtype)
    hist = F.avg_pool2d(onehot, STRIDE)  # fractions per cell, sum to 1
    return hist.flatten(2).transpose(1, 2).sqrt()


class EffnetVisionModel(PreTrainedModel):
    config_class = EffnetVisionConfig
    config: EffnetVisionConfig
    base_model_prefix = "effnet"
    main_input_name = "pixel_values"
    _no_split_modules: list[str] = []

    def __init__(self, config: EffnetVisionConfig):
        super().__init__(config)
        from efficientnet_lite_pytorch import EfficientNet

        self.backbone = EfficientNet.from_name("efficientnet-lite0")
        self.patch_size = config.patch_size
        self.post_init()

    def _init_weights(self, module):  # the backbone initialises itself; weights come from the package
        pass

    def forward(self, pixel_values: torch.Tensor, output_hidden_states: bool | None = None,
                return_dict: bool | None = None, **kwargs) -> BaseModelOutputWithPooling:
        cfg = self.config
        if pixel_values.dim() != 4 or pixel_values.shape[1] != 3:
            raise ValueError(f"pixel_values must be (batch, 3, H, W), got {tuple(pixel_values.shape)}")
        if pixel_values.shape[2] % STRIDE or pixel_values.shape[3] % STRIDE:
            raise ValueError(f"pixel_values H and W must be multiples of {STRIDE}, got {tuple(pixel_values.shape)}")
        fmap = self.backbone.extract_features(pixel_values)  # (B, 1280, H/32, W/32)
        tokens = fmap.flatten(2).transpose(1, 2)
        if cfg.colour_bins:
            tokens = torch.cat([tokens, patch_colour_histogram(pixel_values, cfg.colour_bins)], dim=-1)
        return BaseModelOutputWithPooling(last_hidden_state=tokens, pooler_output=tokens.mean(1),
                                          hidden_states=(tokens,))


_REGISTERED = False


def register_effnet() -> None:
    """Idempotent: make ``AutoConfig``/``AutoModel`` know the tower's ``model_type``."""
    global _REGISTERED
    if _REGISTERED:
        return
    AutoConfig.register(EFFNET_MODEL_TYPE, EffnetVisionConfig, exist_ok=True)
    AutoModel.register(EffnetVisionConfig, EffnetVisionModel, exist_ok=True)
    _REGISTERED = True
