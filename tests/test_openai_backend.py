"""The OpenAI-compatible text backend: request bodies and stream parsing against a mock
transport, and the real thing: a ``llama_cpp.server`` on 127.0.0.1 serving the exported
model, answering like the local llama.cpp runner."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.mllm.config import MLLMConfig
from adapters.mllm.openai_runner import OpenAIChatRunner
from adapters.mllm.runner import ChatMessage


def _mock(replies: list[str], seen: list[dict]):
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        text = replies[len(seen) - 1] if len(seen) <= len(replies) else "again"
        if body["stream"]:
            chunks = [{"choices": [{"delta": {"content": w}}]} for w in (text[:3], text[3:])]
            sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": f" {text} "}}]})

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_requests_follow_the_local_runner_rules():
    seen: list[dict] = []
    runner = OpenAIChatRunner("http://shop-llm:8080", "smol", system_prompt="SYS", seed=3,
                              client=_mock(["red", "blue", "green"], seen))
    assert runner.base_url == "http://shop-llm:8080/v1"
    assert runner.generate([ChatMessage("user", "hi <image> there")]) == "red"
    assert seen[0]["messages"] == [{"role": "system", "content": "SYS"}, {"role": "user", "content": "hi  there"}]
    assert seen[0]["temperature"] == 0.0 and seen[0]["seed"] == 3 and seen[0]["model"] == "smol"
    assert sorted(runner.generate_batch([[ChatMessage("user", "a")], [ChatMessage("user", "b")]])) == ["blue", "green"]
    assert "".join(runner.stream([ChatMessage("user", "s")])) == "again"
    with pytest.raises(ValueError, match="text-only"):
        runner.generate([ChatMessage("user", "look", image=b"png")])
    with pytest.raises(ValueError, match="last message must be from the user"):
        runner.generate([ChatMessage("assistant", "hi")])
    with pytest.raises(ValueError, match="server_url"):
        MLLMConfig(backend="openai")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_model(tmp_path_factory):
    """(a local llama.cpp runner, the URL of a llama_cpp.server serving the same exported GGUF)."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
    from adapters.loading import mllm

    if not mllm.llama_cpp_runs():
        pytest.skip("this machine's llama-cpp-python build cannot decode")
    cfg = MLLMConfig(device="cpu", backend="llama.cpp", max_new_tokens=16)
    local = mllm.load_runner(cfg)  # exports the GGUF once if it is not cached
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("wb")  # a file: a full pipe would stall it
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", local.llama.model_path,
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
                             "--chat_format", "chatml", "--verbose", "False"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()[-2000:]
            time.sleep(0.2)
        yield local, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.integration
def test_real_llama_cpp_server_answers_like_the_local_runner(served_model):
    local, url = served_model
    remote = OpenAIChatRunner(url, system_prompt=local.system_prompt, max_new_tokens=16,
                              extra_body={"repeat_penalty": 1.0})  # llama.cpp's server default is 1.1
    msgs = [ChatMessage("user", "Name one colour for a summer dress.")]
    a, b = local.generate(msgs), remote.generate(msgs)
    assert b and b.split()[:3] == a.split()[:3]
    assert "".join(remote.stream(msgs)).strip() == b
    batch = remote.generate_batch([msgs, [ChatMessage("user", "Name a shoe brand.")]])
    assert batch[0] == b and batch[1] and batch[1] != b
