"""The chat page's sessions and start-up: tab isolation, concurrent tabs, interrupted runs,
an assistant that cannot be built, and the `shopassist ui` command."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("streamlit")

from tests.ui_page import (bubbles, click, open_page, plain, send, sidebar_labels, texts, the_chat,  # noqa: E402,F401
                           titles, toy_page)
from tests.ui_support import BUILT, png_bytes  # noqa: E402,F401
from ui import chat as chats  # noqa: E402
from ui import loading  # noqa: E402

pytestmark = pytest.mark.usefixtures("toy_page")


class _Interrupt(BaseException):
    """What Streamlit raises inside a drawing call when a newer interaction stops the run."""


def test_an_interrupted_run_still_records_the_whole_turn():
    assistant = loading.get_assistant()
    chat = chats.Chat(assistant, assistant.new_session())

    def show(work):
        for _ in work.stream():
            raise _Interrupt()

    with pytest.raises(_Interrupt):
        chats.handle(chat, chats.Request("send", text="tshirts for women"), {}, show)
    user, reply = chat.messages
    assert user.text == "tshirts for women"
    assert reply.reply is not None and reply.text.endswith("Some picks for you.") and len(reply.reply.products) == 4
    assert assistant.llm_lock.acquire(timeout=1)  # the LLM is free for the other tabs
    assistant.llm_lock.release()
    message = chats.handle(chat, chats.Request("send", text="in red"), {}, lambda work: None)
    assert message.reply.products and all(s.product.base_colour == "Red" for s in message.reply.products)


# --- sessions -----------------------------------------------------------------------------
def test_two_tabs_never_see_each_others_conversation():
    built = len(BUILT)
    tab1, tab2 = open_page(), open_page()
    send(tab1, "red tshirts")
    tab2.run()
    assert not tab2.chat_message and sidebar_labels(tab2) == ["Start over"]
    send(tab2, "watches for men")
    assert [b.markdown[0].value for b in bubbles(tab1, "user")] == ["red tshirts"]
    tab1.run()
    assert "✕ colour: Red" in sidebar_labels(tab1) and "✕ colour: Red" not in sidebar_labels(tab2)
    assert the_chat(tab1).session is not the_chat(tab2).session
    assert the_chat(tab1).assistant is the_chat(tab2).assistant  # models loaded once
    assert len(BUILT) == built


def test_tabs_answer_at_the_same_time():
    """Two tabs' chats answered on two threads over the one shared assistant (AppTest itself
    is not thread-safe, so this drives ui.chat directly, as the page's script threads do)."""
    assistant = loading.get_assistant()
    results: dict[int, chats.Message] = {}

    def tab(i: int, text: str) -> None:
        chat = chats.Chat(assistant, assistant.new_session())
        results[i] = chats.handle(chat, chats.Request("send", text=text), {},
                                  lambda work: list(work.stream()))

    threads = [threading.Thread(target=tab, args=(i, t)) for i, t in enumerate(("red tshirts", "watches for men"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(s.product.base_colour == "Red" for s in results[0].reply.products)
    assert all(s.product.article_type == "Watches" for s in results[1].reply.products)


# --- start-up -----------------------------------------------------------------------------
def _no_store_to_load(monkeypatch) -> None:
    """The page's loader fails as it does with no store; nothing is provided or cached."""
    def no_store():
        raise RuntimeError("no product store at .store: run `shopassist ingest ...`")

    monkeypatch.setattr(loading, "load_assistant", no_store)
    loading._from_settings.clear()
    loading.provide(None)


def test_an_assistant_that_cannot_be_built_is_a_message_not_a_traceback(monkeypatch):
    _no_store_to_load(monkeypatch)
    try:
        at = open_page()
    finally:
        loading.provide(BUILT[-1])
    assert "could not start" in at.error[0].value and "shopassist ingest" in at.error[0].value
    assert not at.chat_input


def test_without_a_provided_assistant_the_page_builds_the_settings_one(monkeypatch):
    built = object()
    monkeypatch.setattr(loading, "load_assistant", lambda: built)
    loading._from_settings.clear()
    loading.provide(None)
    try:
        assert loading.get_assistant() is built and loading.get_assistant() is built
    finally:
        loading._from_settings.clear()
        loading.provide(BUILT[-1])


def test_ui_command_runs_streamlit_headless_on_localhost_without_telemetry():
    from assistant.cli import build_parser
    from assistant.cli.ui_cmds import app_path, streamlit_command

    args = build_parser().parse_args(["ui", "--port", "8123"])
    assert args.port == 8123 and args.func.__name__ == "cmd_ui"
    cmd = streamlit_command(8123)
    # the page itself: streamlit's command line through ui.serve (the models load from the start)
    assert cmd[1:4] == ["-m", "ui.serve", "run"] and cmd[4] == str(app_path()) and app_path().is_file()
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.headless"] == "true" and flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8123" and flags["--browser.gatherUsageStats"] == "false"
    wrapped = streamlit_command(8123, "tests/toy_app.py")  # a page with its own assistant: plain streamlit
    assert wrapped[1:5] == ["-m", "streamlit", "run", "tests/toy_app.py"] and wrapped[5:] == cmd[5:]


def test_the_launcher_is_streamlits_command_line_after_starting_the_load(monkeypatch):
    import streamlit.web.cli

    from ui import serve

    calls = []
    monkeypatch.setattr(loading, "start_preload", lambda: calls.append("preload"))
    monkeypatch.setattr(streamlit.web.cli, "main", lambda prog_name: calls.append(prog_name))
    serve.main()
    assert calls == ["preload", "streamlit"]


def test_a_preloaded_assistant_is_the_one_the_first_page_gets(monkeypatch):
    started, release = threading.Event(), threading.Event()
    built = object()

    def slow_load():
        started.set()
        release.wait(10)
        return built

    monkeypatch.setattr(loading, "load_assistant", slow_load)
    loading._from_settings.clear()
    loading.provide(None)
    try:
        loading.start_preload()
        loading.start_preload()  # once per process
        assert started.wait(10)
        monkeypatch.setattr(loading, "load_assistant", lambda: pytest.fail("loaded twice"))
        got: list = []
        page = threading.Thread(target=lambda: got.append(loading.get_assistant()))
        page.start()  # the first page waits for the load already running
        release.set()
        page.join(10)
        assert got == [built] and loading.get_assistant() is built and not loading._preloading
    finally:
        loading._preloading.clear()
        loading._from_settings.clear()
        loading.provide(BUILT[-1])


def test_a_failed_preload_is_shown_by_the_first_page_and_the_next_visit_loads_again(monkeypatch):
    _no_store_to_load(monkeypatch)
    try:
        loading.start_preload()
        with pytest.raises(RuntimeError, match="shopassist ingest"):
            loading.get_assistant()
        built = object()
        monkeypatch.setattr(loading, "load_assistant", lambda: built)
        assert loading.get_assistant() is built
    finally:
        loading._preloading.clear()
        loading._from_settings.clear()
        loading.provide(BUILT[-1])


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_ui_command_rejects_bad_ports(port, capsys):
    from assistant.cli import main

    with pytest.raises(SystemExit) as e:
        main(["ui", "--port", port])
    assert e.value.code == 2 and "--port" in capsys.readouterr().err


def test_ui_command_refuses_a_busy_port(capsys):
    import socket

    from assistant.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["ui", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
