"""A tiny random-init llama GGUF with a byte-level vocabulary, its transformers tokenizer (the
same ids), and a :class:`LlamaCppRunner` over them: llama.cpp loads and decodes it in
milliseconds, so grammar-constrained decoding is tested on a model that knows nothing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from adapters.mllm.processing import IMAGE_TOKEN
from tests.mllm_tiny import CHAT_TEMPLATE

SPECIALS = ["<|im_start|>", "<|im_end|>", IMAGE_TOKEN]
HIDDEN, LAYERS, HEADS, KV_HEADS, FF = 32, 2, 4, 2, 64


def vocabulary() -> list[str]:
    """The special tokens, then every byte as GPT-2's byte-level alphabet writes it."""
    return SPECIALS + sorted(pre_tokenizers.ByteLevel.alphabet())


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {t: i for i, t in enumerate(vocabulary())}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>",
                                   additional_special_tokens=["<|im_start|>", IMAGE_TOKEN])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def write_tiny_gguf(path: Path, seed: int = 0) -> Path:
    """A 2-layer llama of width 32 with random weights (F32), llama.cpp's GPT-2-style vocabulary."""
    import gguf

    rng = np.random.default_rng(seed)
    vocab = vocabulary()
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(512)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FF)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(HIDDEN // HEADS)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(vocab)
    w.add_token_types([gguf.TokenType.CONTROL if t in SPECIALS else gguf.TokenType.NORMAL for t in vocab])
    w.add_token_merges(["Ġ Ġ"])
    w.add_eos_token_id(vocab.index("<|im_end|>"))
    w.add_add_bos_token(False)

    def tensor(name: str, *shape: int, scale: float = 0.2) -> None:
        w.add_tensor(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    tensor("token_embd.weight", len(vocab), HIDDEN)
    tensor("output.weight", len(vocab), HIDDEN)
    w.add_tensor("output_norm.weight", np.ones(HIDDEN, np.float32))
    head = HIDDEN // HEADS
    for i in range(LAYERS):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(HIDDEN, np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(HIDDEN, np.float32))
        tensor(f"blk.{i}.attn_q.weight", HIDDEN, HIDDEN)
        tensor(f"blk.{i}.attn_k.weight", KV_HEADS * head, HIDDEN)
        tensor(f"blk.{i}.attn_v.weight", KV_HEADS * head, HIDDEN)
        tensor(f"blk.{i}.attn_output.weight", HIDDEN, HIDDEN)
        tensor(f"blk.{i}.ffn_gate.weight", FF, HIDDEN)
        tensor(f"blk.{i}.ffn_up.weight", FF, HIDDEN)
        tensor(f"blk.{i}.ffn_down.weight", HIDDEN, FF)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def tiny_llamacpp_runner(path: Path, seed: int = 0):
    """A :class:`LlamaCppRunner` over the GGUF at ``path`` (text only: the vision side is a stub)."""
    from llama_cpp import Llama

    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.llamacpp_runner import LlamaCppRunner
    from adapters.mllm.processing import EffnetImageProcessor, MLLMProcessor

    tok = tiny_tokenizer()
    config = SimpleNamespace(image_token_id=tok.convert_tokens_to_ids(IMAGE_TOKEN),
                             text_config=SimpleNamespace(hidden_size=HIDDEN))
    loaded = SimpleNamespace(model=SimpleNamespace(config=config), tokenizer=tok, device="cpu",
                             processor=MLLMProcessor(tok, EffnetImageProcessor(64, 64), 4),
                             config=MLLMConfig(device="cpu", max_time_s=30.0))
    llama = Llama(model_path=str(path), n_ctx=2048, n_batch=512, n_threads=1, seed=seed, verbose=False)
    return LlamaCppRunner(loaded, llama)
