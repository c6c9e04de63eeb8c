"""Composing a ``LlavaForConditionalGeneration`` from a vision-tower config and a text model.

No file reading here beyond what callers pass in: :mod:`adapters.loading.mllm` decides
where the weights come from.
"""

from __future__ import annotations

import logging

import torch
from transformers import LlavaConfig, LlavaForConditionalGeneration, PretrainedConfig

from adapters.mllm.configuration_effnet import EffnetVisionConfig
from adapters.mllm.modeling_effnet import register_effnet
from adapters.mllm.processing import IMAGE_TOKEN

logger = logging.getLogger(__name__)

# LLaVA-1.5's projector: Linear -> GELU -> Linear (mm_projector_type "mlp2x_gelu"). The
# HF LlavaMultiModalProjector is exactly adapters.projectors.build_projector(
# ProjectorConfig("mlp2x_gelu", tower_dim, text_dim)); we keep HF's module so that
# save_pretrained/from_pretrained and peft's modules_to_save see the standard names.
PROJECTOR_ACT = "gelu"


def build_llava_config(vision_config: PretrainedConfig, text_config: PretrainedConfig,
                       image_token_id: int, num_image_tokens: int) -> LlavaConfig:
    register_effnet()
    cfg = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_id=image_token_id,
        projector_hidden_act=PROJECTOR_ACT,
        vision_feature_select_strategy="full",  # no CLS token to drop
        vision_feature_layer=-1,
        image_seq_length=num_image_tokens,
        multimodal_projector_bias=True,
        tie_word_embeddings=getattr(text_config, "tie_word_embeddings", False),
    )
    return cfg


def add_image_token(tokenizer) -> int:
    """Add ``<image>`` as a special token (idempotent); returns its id."""
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)


def compose_llava(tower_cfg: EffnetVisionConfig, language_model: torch.nn.Module, tokenizer,
                  tower_state: dict[str, torch.Tensor] | None, seed: int = 0) -> LlavaForConditionalGeneration:
    """A LLaVA around ``language_model`` (a ``*ForCausalLM``) and the EfficientNet tower.

    The tokenizer gets ``<image>``; the LM's embeddings grow to fit it. The projector is
    freshly initialised from ``seed`` (trained weights are loaded on top by the caller).
    """
    image_token_id = add_image_token(tokenizer)
    if language_model.get_input_embeddings().num_embeddings < len(tokenizer):
        language_model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    text_config = language_model.config
    if hasattr(text_config, "quantization_config"):  # GGUF-dequantised: plain fp32 weights now
        del text_config.quantization_config
    config = build_llava_config(tower_cfg, text_config, image_token_id, tower_cfg.num_image_tokens)
    torch.manual_seed(seed)
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    model.model.language_model = language_model.model
    model.lm_head = language_model.lm_head
    model.model.vision_tower.to_empty(device="cpu")
    model.model.multi_modal_projector.to_empty(device="cpu")
    for lin in (model.model.multi_modal_projector.linear_1, model.model.multi_modal_projector.linear_2):
        lin.reset_parameters()
    if tower_state is not None:
        model.model.vision_tower.backbone.load_state_dict(tower_state, strict=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.language_model.embed_tokens.weight
    # The image token's own embedding is always overwritten; keep its output logit from winning.
    with torch.no_grad():
        model.get_input_embeddings().weight[image_token_id].zero_()
    return model.eval()
