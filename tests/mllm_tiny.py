"""A tiny random-init LLaVA (EfficientNet tower + 2-layer Llama) and a local tokenizer, for tests."""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, LlavaForConditionalGeneration, PreTrainedTokenizerFast

from adapters.mllm.build import build_llava_config
from adapters.mllm.configuration_effnet import EffnetVisionConfig
from adapters.mllm.processing import IMAGE_TOKEN, EffnetImageProcessor, MLLMProcessor

SPECIALS = ["<unk>", "<|im_start|>", "<|im_end|>", IMAGE_TOKEN]
WORDS = ("you are a helpful shopping assistant system user describe this product what colour is it black red blue "
         "white shirt watch wallet for men women casual the of and . , : ? ! 1 2 3").split()
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {t: i for i, t in enumerate(SPECIALS + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>", additional_special_tokens=["<|im_start|>", IMAGE_TOKEN])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_tower_config() -> EffnetVisionConfig:
    return EffnetVisionConfig(image_height=64, image_width=64, colour_bins=2)  # 2x2 = 4 image tokens


def tiny_llava(seed: int = 0):
    """(model, processor): random init, eval mode, fp32."""
    torch.manual_seed(seed)
    tok = tiny_tokenizer()
    text = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None,
                       tie_word_embeddings=True)
    tower = tiny_tower_config()
    config = build_llava_config(tower, text, tok.convert_tokens_to_ids(IMAGE_TOKEN), tower.num_image_tokens)
    model = LlavaForConditionalGeneration(config).eval()
    processor = MLLMProcessor(tok, EffnetImageProcessor(tower.image_height, tower.image_width), tower.num_image_tokens)
    return model, processor


def tiny_lm_only(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(vocab_size=60, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2))
