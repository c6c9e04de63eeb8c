"""The random-init test LLM of the output projector (``llm="tiny"``): a 2-layer Llama on the
byte-level tiny CLIP tokenizer, built from config and a seed, so a projector trained on it can
be rebuilt at inference (``assistant.imagine.projected_embeds``) without any weights on disk."""

from __future__ import annotations


def build_tiny_llm(hidden_size: int = 64, seed: int = 0):
    """(tokenizer, random-init LlamaForCausalLM) from config, for tests and quick runs."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from adapters.loading.diffusion import tiny_clip_tokenizer

    tok = tiny_clip_tokenizer(model_max_length=128)
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    return tok, LlamaForCausalLM(cfg).eval()
