"""The LLM left loading in the background (the chat page's first visit): products are shown at
once, the first sentence the LLM writes waits for it, and a load that fails says so at each use."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from adapters.loading.pending import Pending
from assistant import services
from assistant.services import SearchService, load_parts
from assistant.settings import Settings
from tests.helpers import ScriptedWriter, toy_assistant


class _Runner(ScriptedWriter):
    loaded = SimpleNamespace(kind="embedded", stage="lora")
    backend = "scripted"


def test_pending_hands_out_the_loaded_object_and_waits_for_it():
    release = threading.Event()
    pending = Pending(lambda: (release.wait(10), _Runner(intro="Hello there."))[1], "test")
    assert not pending.done and "loading" in repr(pending)
    seen = []
    pending.when_loaded(seen.append, pytest.fail)
    got = []
    user = threading.Thread(target=lambda: got.append(list(pending.stream([SimpleNamespace(text="hi")]))))
    user.start()  # the first use waits
    release.set()
    user.join(10)
    assert got == [["Hello ", "there. "]] and pending.done and pending.backend == "scripted"
    assert seen == [pending.ready()] and "loaded" in repr(pending)


def test_a_failed_load_raises_at_each_use(caplog):
    def broken():
        raise RuntimeError("no GGUF here")

    pending = Pending(broken, "test")
    failures = []
    pending.when_loaded(lambda r: pytest.fail("loaded?"), failures.append)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="no GGUF here"):
            pending.generate_batch([])
    assert [str(e) for e in failures] == ["no GGUF here"] and "loading test failed" in caplog.text
    with pytest.raises(AttributeError):
        pending.__deepcopy__  # noqa: B018 (dunders are not the model's: copy and pickle probe them)


@pytest.fixture
def toy_search(tmp_path):
    search = toy_assistant(tmp_path).shop.parts.search
    return SearchService(search, search.store, search.embedder)


@pytest.mark.parametrize("background", [True, False], ids=["in-background", "waited-for"])
def test_load_parts_with_the_llm_in_the_background(toy_search, monkeypatch, background):
    release, asked = threading.Event(), []

    def slow_runner(cfg):
        asked.append(cfg)
        release.wait(10)
        return _Runner(intro="Here are some red ones.")

    monkeypatch.setattr(services, "mllm_runner", slow_runner)
    if not background:
        release.set()
    parts = load_parts(Settings(reply_comment="llm"), search_service=toy_search, generator=False,
                       llm_in_background=background)
    assistant = services.build_assistant(parts)
    assert isinstance(parts.describer, Pending if background else _Runner)  # waited for: the runner itself
    assert parts.explainer.writer is parts.describer
    if background:
        assert parts.status["llm"] == "loading..." and not parts.describer.done
        turn = assistant.new_session().start("red tshirts")
        assert turn.products  # on screen while the LLM still loads
        release.set()
    else:
        turn = assistant.new_session().start("red tshirts")
    reply = turn.finish()  # the LLM's text: waited for
    assert "Here are some red ones." in reply.text and reply.products
    assert assistant.status["llm"] == "embedded MLLM, adaptors: lora, decoding: scripted"
    assert len(asked) == 1


def test_the_default_reply_is_the_lead_without_a_comment(toy_search, monkeypatch):
    monkeypatch.setattr(services, "mllm_runner", lambda cfg: _Runner(intro="I found 5 red tshirts at $9.99."))
    parts = load_parts(Settings(), search_service=toy_search, generator=False)
    reply = services.build_assistant(parts).new_session().send("red tshirts")
    assert reply.text.startswith("Here are") and "I found" not in reply.text and reply.products


def test_without_the_llm_nothing_loads_in_the_background(toy_search, monkeypatch):
    monkeypatch.setattr(services, "mllm_runner", lambda cfg: pytest.fail("loaded the LLM"))
    parts = load_parts(Settings(), search_service=toy_search, generator=False, llm=False, llm_in_background=True)
    assert parts.describer is None and parts.status["llm"] == "none (facts only)"
