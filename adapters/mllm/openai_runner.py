"""The runner interface over an OpenAI-compatible chat endpoint (``/v1/chat/completions``):
a ``llama_cpp.server`` serving the exported GGUF, vLLM, or any such server, so a shop can
run the text model on its own machines.

Text only: the image rows of the embedded model are computed by its torch tower and enter
llama.cpp as input embeddings, which no chat API carries, so a message with an image is
refused (the explanations and the intro are text). Same system prompt and message checks as
:class:`~adapters.mllm.runner.MLLMRunner`; greedy by default (``temperature=0``) with the
seed passed on. ``generate_batch`` sends its conversations concurrently: the server batches
them (llama.cpp's parallel slots, vLLM's continuous batching). ``no_repeat_ngram_size`` has
no equivalent in the API and is not sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from adapters.mllm.processing import IMAGE_TOKEN
from adapters.mllm.runner import ChatMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteModel:
    """What callers read off ``runner.loaded`` (a local runner's :class:`LoadedMLLM`)."""

    kind: str
    stage: str
    url: str


class OpenAIChatRunner:
    backend = "openai"
    batches_sessions = True  # concurrent requests; the server batches them
    supports_json_schema = True  # generate_json: the server's response_format with a schema

    def __init__(self, base_url: str, model: str = "default", *, system_prompt: str = "",
                 max_new_tokens: int = 128, seed: int = 0, timeout_s: float = 60.0, api_key: str | None = None,
                 max_parallel: int = 8, client: httpx.Client | None = None, extra_body: dict | None = None):
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.system_prompt = system_prompt
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        self.max_parallel = max_parallel
        self.extra_body = dict(extra_body or {})  # server-specific fields, e.g. llama.cpp's repeat_penalty
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.Client(timeout=timeout_s, headers=headers)
        self.loaded = RemoteModel("openai", "remote", self.base_url)

    def _messages(self, messages: Sequence[ChatMessage], images) -> list[dict]:
        if not messages:
            raise ValueError("no messages given")
        if messages[-1].role != "user":
            raise ValueError("the last message must be from the user")
        if images or any(m.image is not None for m in messages):
            raise ValueError("the OpenAI-compatible backend is text-only: images need the local "
                             "backends (MLLMConfig.backend 'llama.cpp' or 'transformers')")
        out = []
        if messages[0].role != "system" and self.system_prompt:
            out.append({"role": "system", "content": self.system_prompt})
        for m in messages:
            if IMAGE_TOKEN in m.text:
                logger.warning("removed a literal %s from a %s message", IMAGE_TOKEN, m.role)
            out.append({"role": m.role, "content": m.text.replace(IMAGE_TOKEN, "")})
        return out

    def _body(self, messages, images, max_new_tokens, seed, temperature, stream: bool) -> dict:
        n = max_new_tokens or self.max_new_tokens
        if n < 1:
            raise ValueError("max_new_tokens must be >= 1")
        return {**self.extra_body, "model": self.model, "messages": self._messages(messages, images),
                "max_tokens": n, "temperature": temperature, "seed": self.seed if seed is None else seed,
                "stream": stream}

    def _post(self, body: dict) -> str:
        resp = self.client.post(f"{self.base_url}/chat/completions", json=body)
        resp.raise_for_status()
        return (resp.json()["choices"][0]["message"].get("content") or "").strip()

    def generate(self, messages: Sequence[ChatMessage], images=None, max_new_tokens: int | None = None,
                 seed: int | None = None, temperature: float = 0.0) -> str:
        return self._post(self._body(messages, images, max_new_tokens, seed, temperature, False))

    def generate_json(self, messages: Sequence[ChatMessage], schema: dict, max_new_tokens: int | None = None) -> str:
        """Greedy JSON under ``schema``: llama_cpp.server's ``response_format`` (``json_object`` with a
        ``schema``, which it turns into a grammar, as the local llama.cpp backend does)."""
        body = self._body(messages, None, max_new_tokens, None, 0.0, False)
        body["response_format"] = {"type": "json_object", "schema": schema}
        return self._post(body)

    def generate_batch(self, conversations: Sequence[Sequence[ChatMessage]], max_new_tokens: int | None = None,
                       seed: int | None = None, no_repeat_ngram_size: int = 0, sentences: int = 0) -> list[str]:
        """``no_repeat_ngram_size`` and ``sentences`` are accepted for the interface; the server
        decodes to ``max_new_tokens`` and callers keep the sentences they want."""
        bodies = [self._body(c, None, max_new_tokens, seed, 0.0, False) for c in conversations]  # all checked first
        if len(bodies) <= 1:
            return [self._post(b) for b in bodies]
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(bodies))) as pool:
            return list(pool.map(self._post, bodies))

    def stream(self, messages: Sequence[ChatMessage], images=None, max_new_tokens: int | None = None,
               seed: int | None = None, temperature: float = 0.0) -> Iterator[str]:
        body = self._body(messages, images, max_new_tokens, seed, temperature, True)  # bad input fails here
        return self._events(body)

    def _events(self, body: dict) -> Iterator[str]:
        with self.client.stream("POST", f"{self.base_url}/chat/completions", json=body) as resp:
            resp.raise_for_status()
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line.removeprefix("data:").strip()
                if data == "[DONE]":
                    break
                choices = json.loads(data).get("choices") or [{}]
                piece = (choices[0].get("delta") or {}).get("content")
                if piece:
                    yield piece
