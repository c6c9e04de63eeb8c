"""The chat page, headless (streamlit.testing AppTest), on the toy shop: send, upload,
like and re-rank, remove a filter, clarify, see it on me, in the room, bad input.

The app gets its assistant from ``tests.ui_support:toy_shop``, handed in with
``ui.loading.provide`` (see tests/ui_page.py).
"""

from __future__ import annotations


import pytest

pytest.importorskip("streamlit")

from tests.ui_page import (bubbles, click, open_page, plain, send, sidebar_labels, texts, the_chat,  # noqa: E402,F401
                           titles, toy_page)
from tests.ui_support import BUILT, png_bytes  # noqa: E402,F401
from ui import chat as chats  # noqa: E402

pytestmark = pytest.mark.usefixtures("toy_page")


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
    assert "Here are 4 T-shirts for women. Some picks for you." in texts(reply)
    assert len(titles(reply)) == 4 and all("Women" in t and "Tshirts" in t for t in titles(reply))
    assert len(reply.get("image")) == 4  # each card has its picture
    assert sum("(sample price)" in m.value for m in reply.markdown) == 4  # synthetic prices are marked
    captions = [c.value for c in reply.caption]
    assert any("prices are synthetic" in c for c in captions)
    explained = [c for c in captions if "(sample price)" not in c and "prices are synthetic" not in c]
    assert any("A great pick." in c for c in captions)  # the explanation written through the LLM path
    assert len(set(explained)) == len(explained) >= 4  # no two cards alike (a repeated sentence is rewritten)
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
    options = {b.label: b.key for b in question.button if b.key and b.key.startswith(("option-", "skip-"))}
    assert {"Casual Shoes", "Formal Shoes", "Sports Shoes", "Skip this question"} <= set(options)
    assert titles(question)  # the best guesses are shown beside the question
    click(at, options["Sports Shoes"])
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
