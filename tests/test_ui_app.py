"""The chat page, headless (streamlit.testing AppTest), on the toy shop: send, upload,
like and re-rank, remove a filter, clarify, see it on me, reset, bad input, tab isolation.

The app gets its assistant from ``tests.ui_support:toy_shop`` (handed in with
``ui.loading.provide``); it is built once for this module and shared by every AppTest, as ``st.cache_resource`` shares the
real one between browser tabs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.ui_support import BUILT, png_bytes, toy_shop  # noqa: E402
from ui import chat as chats  # noqa: E402
from ui import loading  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


@pytest.fixture(scope="module", autouse=True)
def toy_factory():
    loading.provide(toy_shop())
    yield
    loading.provide(None)


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def send(at: AppTest, text: str | None, upload: tuple[str, bytes, str] | None = None) -> AppTest:
    box = at.chat_input[0]
    if text is not None:
        box.set_value(text)
    if upload is not None:
        box.upload(*upload)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def bubbles(at: AppTest, role: str = "assistant"):
    return [m for m in at.chat_message if m.name == role]


def titles(bubble) -> list[str]:
    """Product titles of the cards in a bubble, in rank order ("**2. Brand ...**")."""
    out = []
    for md in bubble.markdown:
        v = md.value
        if v.startswith("**") and v.endswith("**") and ". " in v:
            out.append(v.strip("*").split(". ", 1)[1])
    return out


def texts(bubble) -> str:
    return " ".join(m.value for m in bubble.markdown)


def plain(markdown: str) -> str:
    """What the shopper reads: the page escapes markdown ("\\$50" shows as "$50")."""
    return markdown.replace("\\", "")


def sidebar_labels(at: AppTest) -> list[str]:
    return [plain(b.label) for b in at.sidebar.button]


def the_chat(at: AppTest) -> chats.Chat:
    return at.session_state[chats.STATE_KEY]


# --- the page ---------------------------------------------------------------------------
def test_page_shows_the_loaded_models_and_an_empty_request():
    at = open_page()
    status = " ".join(c.value for c in at.sidebar.caption)
    assert "scripted writer" in status and "composite" in status and "toy shop (40 products)" in status
    assert "No filters yet." in status
    assert not at.chat_message
    assert [b.label for b in at.sidebar.button] == ["Start over"]
    assert len(at.sidebar.file_uploader) == 2  # a photo of you, a photo of your room


def test_send_a_text_streams_the_reply_and_shows_product_cards():
    at = send(open_page(), "tshirts for women")
    (user,) = bubbles(at, "user")
    assert user.markdown[0].value == "tshirts for women"
    (reply,) = bubbles(at)
    assert "Here are 4 tshirts for women. Some picks for you." in texts(reply)
    assert len(titles(reply)) == 4 and all("Women" in t and "Tshirts" in t for t in titles(reply))
    assert len(reply.get("image")) == 4  # each card has its picture
    assert sum("(sample price)" in m.value for m in reply.markdown) == 4  # synthetic prices are marked
    captions = [c.value for c in reply.caption]
    assert any("prices are synthetic" in c for c in captions)
    assert sum("A great pick." in c for c in captions) == 4  # the explanation written through the LLM path
    assert {"✕ type: Tshirts", "✕ for: Women"} <= set(sidebar_labels(at))


def test_upload_a_photo_then_send_searches_by_the_photo_and_shows_it():
    at = send(open_page(), "like this for men", ("red-shirt.png", png_bytes(), "image/png"))
    (user,) = bubbles(at, "user")
    assert user.markdown[0].value == "like this for men"
    assert len(user.get("image")) == 1 and user.get("image")[0].captions  # the upload is in the conversation
    (reply,) = bubbles(at)
    assert "your photo" in texts(reply)
    assert titles(reply) and all("Men" in t for t in titles(reply))
    assert "Red" in titles(reply)[0]  # the red photo's colour leads


def test_a_photo_alone_is_a_search():
    at = send(open_page(), None, ("shirt.png", png_bytes(), "image/png"))
    (reply,) = bubbles(at)
    assert titles(reply) and not reply.warning


def test_like_a_product_and_the_ranking_changes():
    at = send(open_page(), "tshirts for women")
    before = titles(bubbles(at)[0])
    last = before[-1]
    click(at, "like-1-4")
    assert at.button(key="like-1-4").label == "Liked"
    assert "Your feedback: 1 liked, 0 disliked." in [c.value for c in at.sidebar.caption]
    click(at, "refresh")
    after_bubble = bubbles(at)[-1]
    assert after_bubble.info[0].value.startswith("Results updated with your feedback (1 liked")
    after = titles(after_bubble)
    assert sorted(after) == sorted(before) and after != before
    assert after.index(last) < before.index(last)  # the liked product moved up


def test_dislike_removes_a_product_from_the_next_results():
    at = send(open_page(), "tshirts for women")
    first = titles(bubbles(at)[0])[0]
    click(at, "dislike-1-1")
    click(at, "refresh")
    assert first not in titles(bubbles(at)[-1])


def test_remove_a_filter_with_one_click():
    at = send(open_page(), "red tshirts")
    assert all("Red" in t for t in titles(bubbles(at)[0]))
    assert "✕ colour: Red" in sidebar_labels(at)
    click(at, "remove-colours")
    latest = bubbles(at)[-1]
    assert latest.info[0].value == "Filter removed: colour Red"
    assert "✕ colour: Red" not in sidebar_labels(at) and "✕ type: Tshirts" in sidebar_labels(at)
    assert any("Red" not in t for t in titles(latest)) and all("Tshirts" in t for t in titles(latest))
    assert not the_chat(at).session.constraints.filter.colours
    # the next message builds on the edited request
    send(at, "for men")
    assert all("Men" in t and "Tshirts" in t for t in titles(bubbles(at)[-1]))
    assert not the_chat(at).session.constraints.filter.colours


def test_price_filter_removal():
    at = send(open_page(), "tshirts under 50")
    assert "✕ price up to: $50" in sidebar_labels(at)
    click(at, "remove-max_price")
    assert plain(bubbles(at)[-1].info[0].value) == "Filter removed: price up to $50"
    assert the_chat(at).session.constraints.filter.max_price is None


def test_clarifying_question_options_are_buttons():
    at = send(open_page(), "red shoes")
    question = bubbles(at)[-1]
    labels = [b.label for b in question.button]
    assert {"Casual Shoes", "Formal Shoes", "Sports Shoes", "Skip this question"} <= set(labels)
    click(at, f"option-1-{labels.index('Sports Shoes')}")
    assert bubbles(at, "user")[-1].markdown[0].value == "Sports Shoes"
    assert titles(bubbles(at)[-1]) and all("Sports Shoes" in t for t in titles(bubbles(at)[-1]))


def test_skipping_the_question_shows_results():
    at = send(open_page(), "red shoes")
    click(at, "skip-1")
    assert bubbles(at, "user")[-1].markdown[0].value == "skip"
    shown = titles(bubbles(at)[-1])
    assert shown and all("Red" in t and "Shoes" in t for t in shown)
    assert not [b for b in at.button if b.key and b.key.startswith("option-")]  # the question is answered


def test_reset_clears_the_conversation():
    at = send(open_page(), "red tshirts")
    click(at, "like-1-1")
    click(at, "reset")
    assert not at.chat_message
    assert sidebar_labels(at) == ["Start over"]
    session = the_chat(at).session
    assert session.constraints.filter.is_empty() and not session.liked and not session.shown


# --- see it on me / in my room ------------------------------------------------------------
def test_see_it_on_me_needs_a_photo_then_shows_the_picture_and_its_backend():
    at = send(open_page(), "tshirts for women")
    click(at, "try_on-1-1")
    assert "first add a photo of yourself" in bubbles(at)[-1].warning[0].value
    at.sidebar.file_uploader[0].set_value(("me.png", png_bytes((200, 300), (30, 60, 220)), "image/png")).run()
    click(at, "try_on-1-1")
    picture = bubbles(at)[-1]
    assert not picture.warning
    assert "Composite preview" in texts(picture)
    (image,) = picture.get("image")
    assert image.captions == ["Made by: composite"] or "Made by: composite" in str(image.proto)
    assert bubbles(at, "user")[-1].markdown[0].value.startswith("See the Brand Women")


def test_see_it_in_my_room():
    at = send(open_page(), "watches for men")
    at.sidebar.file_uploader[1].set_value(("room.png", png_bytes((320, 240)), "image/png")).run()
    click(at, "in_room-1-1")
    picture = bubbles(at)[-1]
    assert "room photo" in texts(picture) and len(picture.get("image")) == 1


def test_a_generation_failure_is_a_message_and_the_chat_goes_on():
    at = send(open_page(), "tshirts for women")
    at.sidebar.file_uploader[0].set_value(("me.png", png_bytes((200, 300)), "image/png")).run()
    generator = BUILT[-1].generator
    real = generator.generate

    def broken(request):
        raise RuntimeError("the GPU caught fire")

    generator.generate = broken
    try:
        click(at, "try_on-1-2")
    finally:
        generator.generate = real
    assert "The picture could not be made (RuntimeError: the GPU caught fire)" in bubbles(at)[-1].warning[0].value
    send(at, "for men")
    assert titles(bubbles(at)[-1])


# --- bad input ----------------------------------------------------------------------------
def test_a_non_image_upload_gets_a_clear_message_and_the_session_keeps_working():
    at = send(open_page(), "like this", ("notes.txt", b"just some text", "text/plain"))
    warning = bubbles(at)[-1].warning[0].value
    assert "couldn't use 'notes.txt'" in warning and "not an image" in warning
    assert "(not used)" in " ".join(c.value for c in bubbles(at, "user")[-1].caption)
    send(at, "tshirts for women")
    assert len(titles(bubbles(at)[-1])) == 4


def test_a_50_mb_upload_is_refused_with_the_limit_named():
    at = send(open_page(), "like this", ("huge.jpg", b"\xff" * (50 * 2**20), "image/jpeg"))
    warning = bubbles(at)[-1].warning[0].value
    assert "huge.jpg" in warning and "limit" in warning and "20 MB" in warning
    send(at, "red tshirts")
    assert titles(bubbles(at)[-1])


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_message_gets_a_hint(text):
    at = send(open_page(), text)
    assert not bubbles(at, "user")
    assert "Tell me what you are looking for" in bubbles(at)[-1].warning[0].value


def test_an_over_long_message_is_refused_politely():
    at = send(open_page(), "red " * 400)
    assert "limit" in bubbles(at)[-1].warning[0].value
    send(at, "red tshirts")
    assert titles(bubbles(at)[-1])


def test_rapid_double_submits_are_answered_once_each_and_repeats_dropped():
    at = open_page()
    chat = the_chat(at)
    assert chats.send(chat, "red tshirts") and not chats.send(chat, "red tshirts")  # a double click
    assert chats.send(chat, "for women")
    at.run()  # one request per run, then a rerun for the next: both answered in order
    assert not at.exception
    assert [b.markdown[0].value for b in bubbles(at, "user")] == ["red tshirts", "for women"]
    assert all("Red" in t and "Women" in t for t in titles(bubbles(at)[-1]))


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
def test_an_assistant_that_cannot_be_built_is_a_message_not_a_traceback(monkeypatch):
    def no_store():
        raise RuntimeError("no product store at .store: run `shopassist ingest ...`")

    monkeypatch.setattr(loading, "load_assistant", no_store)
    loading._from_settings.clear()
    loading.provide(None)
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


def test_try_it_on_me_in_the_chat_with_a_photo():
    at = send(open_page(), "watches for women")
    send(at, "try the second one on me", ("me.jpg", png_bytes((240, 360)), "image/png"))
    picture = bubbles(at)[-1]
    assert "Composite preview" in texts(picture)
    assert len(picture.get("image")) == 1 and not picture.warning


def test_descriptive_words_can_be_removed_too():
    at = send(open_page(), "slim tshirts")
    assert "✕ words: slim" in sidebar_labels(at)
    click(at, "remove-words")
    assert plain(bubbles(at)[-1].info[0].value) == "Filter removed: words slim"
    assert the_chat(at).session.constraints.words == ()
    assert "✕ type: Tshirts" in sidebar_labels(at)


# --- the command ----------------------------------------------------------------------------
def test_ui_command_runs_streamlit_headless_on_localhost_without_telemetry():
    from assistant.cli import build_parser
    from assistant.cli.ui_cmds import app_path, streamlit_command

    args = build_parser().parse_args(["ui", "--port", "8123"])
    assert args.port == 8123 and args.func.__name__ == "cmd_ui"
    cmd = streamlit_command(8123)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(app_path()) and app_path().is_file()
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.headless"] == "true" and flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8123" and flags["--browser.gatherUsageStats"] == "false"


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


def test_a_model_failure_mid_answer_is_a_message_and_the_chat_goes_on():
    at = open_page()
    writer = BUILT[-1].explainer.writer

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")
        yield  # a generator, like the real stream

    stream, batch = writer.stream, writer.generate_batch
    writer.stream, writer.generate_batch = broken, lambda *a, **k: (_ for _ in ()).throw(RuntimeError("out of memory"))
    try:
        send(at, "tshirts for women")
    finally:
        writer.stream, writer.generate_batch = stream, batch
    assert "something went wrong while answering (out of memory)" in bubbles(at)[-1].warning[0].value
    send(at, "in red")
    assert titles(bubbles(at)[-1]) and not bubbles(at)[-1].warning
