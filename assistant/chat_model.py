"""The embedded multimodal LLM as a LangChain chat model.

>>> from langchain_core.messages import HumanMessage, SystemMessage
>>> model = ShopAssistantChatModel.from_settings()            # or ShopAssistantChatModel(runner=runner)
>>> model.invoke([SystemMessage("Be brief."), HumanMessage("What colour suits a beach holiday?")])
>>> msg = HumanMessage(content=[{"type": "text", "text": "Describe this product."},
...                             {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}])
>>> for chunk in model.stream([msg]): print(chunk.content, end="")

System, human and AI messages map to the runner's :class:`ChatMessage` roles. A human
message may carry images as content blocks: OpenAI-style ``{"type": "image_url",
"image_url": {"url": ...}}``, LangChain standard ``{"type": "image", "base64": ...}`` /
``{"type": "image", "source_type": "base64", "data": ...}`` / ``{"type": "image", "url": ...}``,
or a local file as ``{"type": "image", "path": ...}`` or a ``file://`` / plain path URL. A
``data:`` URL or base64 is decoded locally; http(s) URLs are refused (nothing is fetched).
Every image goes through the project's safe image loading (size limits before decoding).
Only the last human message may carry more than one image.

No tool calling: the small embedded model (SmolLM2-135M under a LLaVA projector) is not
trained to emit tool calls, so :meth:`bind_tools` raises ``NotImplementedError``. In this
project our own code orchestrates tools (``Session`` runs understand -> retrieve -> re-rank
-> explain each turn, and ``examples/agent_loop.py`` runs tool calls emitted by a model
that can make them); use this model for the words, and a tool-calling model to drive
:func:`assistant.tools.make_tools`.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (AIMessage, AIMessageChunk, BaseMessage, ChatMessage as LCChatMessage,
                                     HumanMessage, SystemMessage)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from adapters.imaging import DEFAULT_LIMITS, ImageSource
from adapters.mllm.runner import ChatMessage

from assistant.services import mllm_runner
from assistant.settings import Settings

logger = logging.getLogger(__name__)

NO_TOOLS = ("ShopAssistantChatModel does not call tools: the embedded model is too small to emit reliable tool "
            "calls. The project's own code orchestrates tools (assistant.core.Session runs each turn's steps; "
            "examples/agent_loop.py runs the tool calls of a tool-calling chat model over assistant.tools.make_tools). "
            "Use a tool-calling chat model to drive those tools, and this model for text.")
_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant", "system": "system"}


class ShopAssistantChatModel(BaseChatModel):
    """A LangChain chat model over an :class:`adapters.mllm.runner.MLLMRunner` (or anything with
    its ``generate`` / ``stream`` methods). Greedy decoding unless ``temperature > 0``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runner: Any = Field(exclude=True)
    """The MLLMRunner: ``generate(messages, images=..., max_new_tokens=..., seed=..., temperature=...)``."""
    max_new_tokens: int | None = Field(default=None, ge=1, le=4096)
    """None: the runner's configured default."""
    temperature: float = Field(default=0.0, ge=0.0)
    seed: int | None = None
    model_name: str = "shopassist-mllm"
    lock: Any = Field(default=None, exclude=True)
    """Optional lock held while decoding (share the Assistant's, so one decode runs at a time)."""

    @classmethod
    def from_settings(cls, settings=None, **kwargs) -> "ShopAssistantChatModel":
        """The settings' multimodal LLM (loaded once per process, shared with the Assistant's)."""
        runner = mllm_runner((settings or Settings()).mllm_config())
        return cls(runner=runner, model_name=f"shopassist-{runner.loaded.kind}-{runner.loaded.stage}", **kwargs)

    @classmethod
    def from_assistant(cls, assistant, **kwargs) -> "ShopAssistantChatModel":
        """The Assistant's own multimodal LLM, decoding under its lock."""
        if assistant.describer is None:
            raise ValueError("this Assistant has no multimodal LLM (built with llm=False or explanations='facts')")
        return cls(runner=assistant.describer, lock=assistant.llm_lock, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "shopassist-mllm"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "seed": self.seed}

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        raise NotImplementedError(NO_TOOLS)

    # --- generation ---------------------------------------------------------------------
    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        chat, extra = to_chat_messages(messages)
        with self._locked():
            text = self.runner.generate(chat, images=extra or None, **self._options(kwargs))
        text, stopped = _cut_at_stop(text, stop)
        message = AIMessage(content=text, response_metadata=self._metadata(stopped))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        chat, extra = to_chat_messages(messages)
        stops = [s for s in (stop or []) if s]
        hold = max((len(s) for s in stops), default=1) - 1  # a stop string may straddle two pieces
        pending, stopped = "", None
        with self._locked():
            pieces = self.runner.stream(chat, images=extra or None, **self._options(kwargs))
            try:
                for piece in pieces:
                    pending += piece
                    pending, stopped = _cut_at_stop(pending, stops)
                    ready = pending if stopped else pending[: len(pending) - hold]
                    pending = "" if stopped else pending[len(ready):]
                    if ready:
                        yield self._chunk(ready, run_manager)
                    if stopped:
                        break
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
        if pending:
            yield self._chunk(pending, run_manager)
        final = ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=self._metadata(stopped),
                                                           chunk_position="last"))
        yield final

    # --- helpers ------------------------------------------------------------------------
    def _chunk(self, text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager is not None:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(kwargs) - {"max_new_tokens", "temperature", "seed"}
        if unknown:
            raise TypeError(f"unsupported options for {self._llm_type}: {sorted(unknown)}")
        return {"max_new_tokens": kwargs.get("max_new_tokens", self.max_new_tokens),
                "temperature": kwargs.get("temperature", self.temperature),
                "seed": kwargs.get("seed", self.seed)}

    def _metadata(self, stopped: str | None) -> dict[str, Any]:
        return {"model_name": self.model_name, "finish_reason": "stop_sequence" if stopped else "stop"}

    def _locked(self):
        return self.lock if self.lock is not None else nullcontext()


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, str | None]:
    """``text`` up to the first of the ``stop`` strings, and which one cut it (or None)."""
    cuts = [(text.find(s), s) for s in (stop or []) if s and s in text]
    if not cuts:
        return text, None
    at, which = min(cuts)
    return text[:at], which


# --- LangChain messages -> the runner's ChatMessages ------------------------------------------
def to_chat_messages(messages: Sequence[BaseMessage]) -> tuple[list[ChatMessage], list[ImageSource]]:
    """(the conversation as runner ChatMessages, extra images of the last human message).

    System messages are merged into one leading system message. A human message's first
    image becomes its ``ChatMessage.image``; further images are allowed on the last human
    message only (the runner attaches them to it).

    Raises:
        ValueError: a tool message or an unknown role, an image on a non-human message,
            several images on an earlier human message, a remote URL, bad base64.
    """
    system: list[str] = []
    out: list[ChatMessage] = []
    extra: list[ImageSource] = []
    last_human = max((i for i, m in enumerate(messages) if _role(m) == "user"), default=-1)
    for i, m in enumerate(messages):
        role = _role(m)
        text, images = _content(m.content)
        if role != "user" and images:
            raise ValueError(f"only human messages can carry images (got one on a {m.type} message)")
        if role == "system":
            system.append(text)
            continue
        if len(images) > 1 and i != last_human:
            raise ValueError("only the last human message may carry more than one image")
        out.append(ChatMessage(role, text, image=images[0] if images else None))
        if i == last_human:
            extra = images[1:]
    if system:
        out.insert(0, ChatMessage("system", "\n\n".join(t for t in system if t)))
    if not out or out[-1].role != "user":
        raise ValueError("the conversation must end with a human message")
    return out, extra


def _role(m: BaseMessage) -> str:
    if isinstance(m, HumanMessage):
        return "user"
    if isinstance(m, SystemMessage):
        return "system"
    if isinstance(m, AIMessage):
        return "assistant"
    if isinstance(m, LCChatMessage) and m.role in _ROLES:
        return _ROLES[m.role]
    if m.type == "tool":
        raise ValueError(NO_TOOLS)
    raise ValueError(f"unsupported message type {m.type!r}")


def _content(content: str | list) -> tuple[str, list[ImageSource]]:
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[ImageSource] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind in ("image_url", "image"):
            images.append(image_from_block(block))
        elif kind in ("reasoning", "thinking"):  # an AI message's reasoning is not replayed
            continue
        else:
            raise ValueError(f"unsupported content block type {kind!r}")
    return "\n".join(t for t in texts if t), images


def image_from_block(block: dict) -> ImageSource:
    """Raw bytes (from base64 / a data URL) or a local path, from one image content block."""
    if block.get("type") == "image_url":
        ref = block.get("image_url")
        url = ref.get("url") if isinstance(ref, dict) else ref
        return _from_url(url)
    if block.get("base64") is not None:  # LangChain v1 standard block
        return _b64(block["base64"])
    if block.get("source_type") == "base64" or (block.get("data") is not None and "url" not in block):
        return _b64(block.get("data"))
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64":  # Anthropic-style
        return _b64(source.get("data"))
    if block.get("path") is not None:
        return _local(block["path"])
    if block.get("url") is not None:
        return _from_url(block["url"])
    raise ValueError("image block without base64 data, a URL or a path")


def _from_url(url: Any) -> ImageSource:
    if not isinstance(url, str) or not url:
        raise ValueError("image URL must be a non-empty string")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        if ";base64" not in header:
            raise ValueError("only base64 data: URLs are supported for images")
        return _b64(data)
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        raise ValueError("remote image URLs are not fetched (no network): pass the image as base64 or a local path")
    if parsed.scheme == "file":
        return _local(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # len 1: a Windows drive letter
        raise ValueError(f"unsupported image URL scheme {parsed.scheme!r}")
    return _local(url)


def _local(path: Any) -> str:
    if not isinstance(path, str) or not path:
        raise ValueError("image path must be a non-empty string")
    return str(Path(path).expanduser())


def _b64(data: Any) -> bytes:
    if not isinstance(data, str) or not data:
        raise ValueError("image base64 data must be a non-empty string")
    if len(data) > DEFAULT_LIMITS.max_bytes * 4 // 3 + 4:
        raise ValueError(f"image data is over the {DEFAULT_LIMITS.max_bytes}-byte limit")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"image base64 data is invalid ({exc})") from None

