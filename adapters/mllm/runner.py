"""The one inference interface the rest of the project uses: chat messages (each with an
optional image) in, text out, or streamed as an iterator of text pieces.

Greedy decoding by default, so the same input gives the same output; ``temperature > 0``
samples from a generator seeded with ``seed``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from transformers import LogitsProcessor, LogitsProcessorList, NoRepeatNGramLogitsProcessor

from adapters.imaging import ImageSource, load_image
from adapters.mllm.grammar import JSON_BACKENDS_HINT
from adapters.mllm.processing import IMAGE_TOKEN

logger = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    text: str
    image: ImageSource | None = None

    def __post_init__(self) -> None:
        if self.role not in ("system", "user", "assistant"):
            raise ValueError(f"ChatMessage: unknown role {self.role!r}")
        if self.image is not None and self.role != "user":
            raise ValueError("ChatMessage: only user messages can carry an image")


class MLLMRunner:
    """Wraps a :class:`adapters.loading.mllm.LoadedMLLM`."""

    backend = "transformers"
    supports_json_schema = False  # see generate_json

    def __init__(self, loaded):
        self.loaded = loaded
        self.model = loaded.model
        self.processor = loaded.processor
        self.tokenizer = loaded.tokenizer
        self.device = loaded.device
        self.system_prompt = loaded.config.system_prompt
        self.max_new_tokens = loaded.config.max_new_tokens
        self.max_time_s = loaded.config.max_time_s
        self.seed = loaded.config.seed
        self.image_token_id = self.model.config.image_token_id

    def _prompt(self, messages: Sequence[ChatMessage], images: Sequence[ImageSource] | None = None):
        """(prompt text, PIL images) for one conversation."""
        if not messages:
            raise ValueError("no messages given")
        if messages[-1].role != "user":
            raise ValueError("the last message must be from the user")
        conversation, pil_images = [], []
        if messages[0].role != "system" and self.system_prompt:
            conversation.append({"role": "system", "content": [{"type": "text", "text": self.system_prompt}]})
        extra = list(images or [])
        for i, m in enumerate(messages):
            text = m.text
            if IMAGE_TOKEN in text:  # a literal marker typed by a user must not become an image slot
                logger.warning("removed a literal %s from a %s message", IMAGE_TOKEN, m.role)
                text = text.replace(IMAGE_TOKEN, "")
            srcs = ([m.image] if m.image is not None else []) + (extra if i == len(messages) - 1 else [])
            pil_images += [load_image(s) for s in srcs]
            content = [{"type": "image"} for _ in srcs] + [{"type": "text", "text": text}]
            conversation.append({"role": m.role, "content": content})
        return self.processor.apply_chat_template(conversation, add_generation_prompt=True), pil_images

    def _encode(self, prompts: list[str], pil_images: list) -> dict:
        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "left"  # generation continues from the right end
        try:
            enc = self.processor(text=prompts if len(prompts) > 1 else prompts[0], images=pil_images or None,
                                 return_tensors="pt", padding=True)
        finally:
            tok.padding_side = side
        out = {k: v.to(self.device) for k, v in enc.items() if isinstance(v, torch.Tensor)}
        if "pixel_values" in out:
            out["pixel_values"] = out["pixel_values"].to(self.model.dtype)
        return out

    def build_inputs(self, messages: Sequence[ChatMessage], images: Sequence[ImageSource] | None = None) -> dict:
        """Tensors for ``generate``. ``images`` (optional) are attached to the last user message."""
        prompt, pil_images = self._prompt(messages, images)
        return self._encode([prompt], pil_images)

    @torch.inference_mode()
    def generate_batch(self, conversations: Sequence[Sequence[ChatMessage]], max_new_tokens: int | None = None,
                       seed: int | None = None, no_repeat_ngram_size: int = 0, sentences: int = 0) -> list[str]:
        """Greedy answers for several conversations at once (left-padded batch).
        ``no_repeat_ngram_size`` > 0 forbids the answer repeating an n-gram of its own (short
        generated prose); it may copy the prompt's (its facts).
        ``sentences``: accepted for the interface; this backend decodes to ``max_new_tokens``
        (llama.cpp's stops early), so callers keep the sentences they want."""
        prompts, pil_images = [], []
        for msgs in conversations:
            prompt, imgs = self._prompt(msgs)
            prompts.append(prompt)
            pil_images += imgs
        inputs = self._encode(prompts, pil_images)
        kwargs = self._gen_kwargs(max_new_tokens, seed, 0.0)
        n = inputs["input_ids"].shape[1]
        if no_repeat_ngram_size:
            kwargs["logits_processor"] = LogitsProcessorList([_AnswerNoRepeatNGram(no_repeat_ngram_size, n)])
        out = self.model.generate(**inputs, **kwargs)
        return [t.strip() for t in self.tokenizer.batch_decode(out[:, n:], skip_special_tokens=True)]

    def _gen_kwargs(self, max_new_tokens: int | None, seed: int | None, temperature: float) -> dict:
        n = max_new_tokens or self.max_new_tokens
        if n < 1:
            raise ValueError("max_new_tokens must be >= 1")
        kwargs = {"max_new_tokens": n, "suppress_tokens": [self.image_token_id], "max_time": self.max_time_s,
                  "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id}
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=0.95)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        torch.manual_seed(self.seed if seed is None else seed)
        return kwargs

    def generate_json(self, messages: Sequence[ChatMessage], schema: dict, max_new_tokens: int | None = None) -> str:
        """Not on this backend: transformers has no grammar-constrained decoding here."""
        raise NotImplementedError(f"the transformers backend does not decode under a grammar: {JSON_BACKENDS_HINT}")

    @torch.inference_mode()
    def generate(self, messages: Sequence[ChatMessage], images: Sequence[ImageSource] | None = None,
                 max_new_tokens: int | None = None, seed: int | None = None, temperature: float = 0.0) -> str:
        inputs = self.build_inputs(messages, images)
        out = self.model.generate(**inputs, **self._gen_kwargs(max_new_tokens, seed, temperature))
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()

    def stream(self, messages: Sequence[ChatMessage], images: Sequence[ImageSource] | None = None,
               max_new_tokens: int | None = None, seed: int | None = None, temperature: float = 0.0) -> Iterator[str]:
        """Yields text pieces as they are decoded; errors in the model surface here."""
        from transformers import TextIteratorStreamer

        inputs = self.build_inputs(messages, images)  # bad input fails before any thread starts
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
        kwargs = {**inputs, **self._gen_kwargs(max_new_tokens, seed, temperature), "streamer": streamer}
        failure: list[BaseException] = []

        def work():
            try:
                with torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as exc:  # re-raised in the caller's thread below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if failure:
            raise failure[0]


class _AnswerNoRepeatNGram(LogitsProcessor):
    """transformers' no-repeat-n-gram rule over the generated tokens only: its own processor
    also bans the prompt's n-grams, so the facts a prompt gives could not be copied."""

    def __init__(self, n: int, prompt_len: int):
        self.rule, self.prompt_len = NoRepeatNGramLogitsProcessor(n), prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return self.rule(input_ids[:, self.prompt_len:], scores)

