"""The embedded MLLM as a LangChain chat model (assistant/chat_model.py), on a tiny random-init LLaVA."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from PIL import Image

from adapters.loading.mllm import LoadedMLLM
from adapters.mllm.config import MLLMConfig
from adapters.mllm.runner import ChatMessage, MLLMRunner
from assistant.chat_model import ShopAssistantChatModel, to_chat_messages
from mllm_tiny import tiny_llava

RED = Image.new("RGB", (30, 40), (200, 20, 20))


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


RED_B64 = base64.b64encode(_png(RED)).decode()


class RecordingRunner(MLLMRunner):
    """The real runner, remembering what it was asked."""

    def generate(self, messages, images=None, **kwargs):
        self.seen = (list(messages), list(images or []))
        return super().generate(messages, images, **kwargs)


@pytest.fixture(scope="module")
def runner(one_torch_thread):
    model, processor = tiny_llava()
    cfg = MLLMConfig(adapter_path=None, max_new_tokens=6, system_prompt="you are a shopping assistant")
    return RecordingRunner(LoadedMLLM(model, processor, processor.tokenizer, torch.device("cpu"), "embedded", "none", cfg))


@pytest.fixture(scope="module")
def chat(runner):
    return ShopAssistantChatModel(runner=runner, max_new_tokens=6)


def _same_pixels(src, im: Image.Image) -> bool:
    got = Image.open(io.BytesIO(src) if isinstance(src, bytes) else src).convert("RGB")
    return np.array_equal(np.asarray(got), np.asarray(im))


def test_invoke_is_the_runner_on_the_same_conversation(chat, runner):
    msgs = [SystemMessage("you are a helpful shopping assistant"), HumanMessage("describe this product"),
            AIMessage("a red shirt"), HumanMessage("what colour is it ?")]
    out = chat.invoke(msgs)
    assert isinstance(out, AIMessage) and isinstance(out.content, str) and out.content
    assert out.response_metadata["model_name"] == "shopassist-mllm" and not out.tool_calls
    expected = [ChatMessage("system", "you are a helpful shopping assistant"), ChatMessage("user", "describe this product"),
                ChatMessage("assistant", "a red shirt"), ChatMessage("user", "what colour is it ?")]
    assert runner.seen == (expected, [])
    assert out.content == MLLMRunner.generate(runner, expected, max_new_tokens=6)


def test_stream_yields_chunks_that_add_up_to_invoke(chat):
    tokens = []

    class Collect(BaseCallbackHandler):
        def on_llm_new_token(self, token, **kwargs):
            tokens.append(token)

    chunks = list(chat.stream("describe this product", config={"callbacks": [Collect()]}))
    assert all(isinstance(c, AIMessageChunk) for c in chunks) and len(chunks) > 2
    text = "".join(c.content for c in chunks)
    assert text.strip() == chat.invoke("describe this product").content
    assert "".join(tokens) == text
    assert chunks[-1].response_metadata["finish_reason"] == "stop"


def test_image_content_block_reaches_the_model(chat, runner):
    msg = HumanMessage(content=[{"type": "text", "text": "describe this product"},
                                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_B64}"}}])
    out = chat.invoke([msg])
    (sent,), extra = runner.seen
    assert sent.role == "user" and sent.text == "describe this product" and extra == []
    assert isinstance(sent.image, bytes) and _same_pixels(sent.image, RED)
    assert int((runner.build_inputs([sent])["input_ids"] == runner.image_token_id).sum()) == 4  # the tiny tower's slots
    assert out.content == MLLMRunner.generate(runner, [ChatMessage("user", "describe this product", image=RED)],
                                              max_new_tokens=6)
    streamed = "".join(c.content for c in chat.stream([msg]))
    assert streamed.strip() == out.content


def test_stop_sequences_and_per_call_options(chat):
    full = chat.invoke("describe this product").content
    word = full.split()[1]
    cut = full[: full.index(" " + word)]
    assert chat.invoke("describe this product", stop=[" " + word]).content == cut
    assert "".join(c.content for c in chat.stream("describe this product", stop=[" " + word])).strip() == cut
    assert len(chat.invoke("describe this product", max_new_tokens=2).content.split()) <= 2
    with pytest.raises(TypeError, match="unsupported options"):
        chat.invoke("describe this product", top_k=3)


@pytest.mark.parametrize("block", [
    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_B64}"}},
    {"type": "image_url", "image_url": f"data:image/png;base64,{RED_B64}"},
    {"type": "image", "base64": RED_B64, "mime_type": "image/png"},
    {"type": "image", "source_type": "base64", "data": RED_B64, "mime_type": "image/png"},
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED_B64}},
])
def test_base64_image_blocks(block):
    (msg,), extra = to_chat_messages([HumanMessage(content=["what colour is it ?", block])])
    assert msg.text == "what colour is it ?" and _same_pixels(msg.image, RED) and extra == []


def test_file_path_image_blocks_and_several_images_on_the_last_message(tmp_path):
    path = tmp_path / "red.png"
    RED.save(path)
    blocks = [{"type": "image", "path": str(path)}, {"type": "image_url", "image_url": {"url": path.as_uri()}},
              {"type": "image", "url": str(path)}]
    (first, answer, last), extra = to_chat_messages([HumanMessage(content=[blocks[0], "this one"]), AIMessage("ok"),
                                                     HumanMessage(content=["and these", *blocks[1:]])])
    assert (first.image, answer.image, last.image) == (str(path), None, str(path)) and extra == [str(path)]


def test_system_messages_are_merged_in_front():
    msgs, _ = to_chat_messages([HumanMessage("hi"), SystemMessage("be brief"), AIMessage("hello"),
                                SystemMessage("be kind"), HumanMessage("shoes?")])
    assert [(m.role, m.text) for m in msgs] == [("system", "be brief\n\nbe kind"), ("user", "hi"),
                                                ("assistant", "hello"), ("user", "shoes?")]


@pytest.mark.parametrize("messages, says", [
    ([HumanMessage(content=[{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}])], "not fetched"),
    ([HumanMessage(content=[{"type": "image", "base64": "not base64!!"}])], "base64 data is invalid"),
    ([HumanMessage(content=[{"type": "image_url", "image_url": {"url": "data:image/png,rawdata"}}])], "base64 data: URLs"),
    ([HumanMessage(content=[{"type": "audio", "base64": "AAAA"}])], "unsupported content block"),
    ([HumanMessage("a"), ToolMessage("result", tool_call_id="1")], "does not call tools"),
    ([HumanMessage("a"), AIMessage(content=[{"type": "image", "base64": RED_B64}])], "only human messages"),
    ([HumanMessage(content=[{"type": "image", "base64": RED_B64}] * 2), AIMessage("ok"), HumanMessage("b")],
     "only the last human message"),
    ([HumanMessage("a"), AIMessage("b")], "must end with a human message"),
])
def test_bad_messages_are_refused_with_a_reason(messages, says):
    with pytest.raises(ValueError, match=says):
        to_chat_messages(messages)


def test_no_tool_calling_by_the_small_model(chat):
    @tool
    def search_products(query: str) -> str:
        """Search.

        Args:
            query: what to find.
        """
        return query

    with pytest.raises(NotImplementedError, match="orchestrates tools"):
        chat.bind_tools([search_products])


def test_from_assistant_needs_an_llm():
    class NoLLM:
        describer = None

    with pytest.raises(ValueError, match="no multimodal LLM"):
        ShopAssistantChatModel.from_assistant(NoLLM())
