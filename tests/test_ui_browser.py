"""End to end in a real headless browser: `shopassist ui` on 127.0.0.1 (a free port), Debian's
Chromium driven by selenium; type a query, see product cards with pictures, upload a bad
file and read the message. Screenshots land in tests/artifacts/ (git-ignored).

Uses the toy shop (tests/toy_app.py) so it takes seconds; bench/bench_ui.py does the
same with the embedded models. Skipped, with the reason, where chromium, chromium-driver
or selenium is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui_support import TOY_APP
from ui import headless

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"

_found = headless.find_browser()
pytestmark = pytest.mark.skipif(isinstance(_found, str), reason=f"browser test: {_found}")


@pytest.fixture(scope="module")
def server():
    with headless.AppServer(env={"PYTHONPATH": str(REPO)}, cwd=REPO, app=TOY_APP) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    driver = headless.chromium()
    yield driver
    driver.quit()


def _page_text(driver) -> str:
    return driver.execute_script("return document.body.innerText;")


def test_query_shows_product_cards_with_pictures(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server.url)
    headless.ask(browser, "tshirts for women", timeout_s=60)
    headless.wait_until(lambda: headless.loaded_card_images(browser) >= 4, 30, "4 product pictures")
    headless.wait_until(lambda: headless.final_cards(browser) > 0, 30, "the finished answer")
    headless.wait_idle(browser)
    text = _page_text(browser)
    assert "Here are 4 T-shirts for women." in text
    assert text.count("(sample price)") >= 4 and "prices are synthetic" in text
    assert "Image generator: embedded catalog model + composite" in text and "scripted writer" in text
    assert "✕ type: Tshirts" in text
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "ui_browser_results.png"
    browser.set_window_size(1400, 1900)  # the whole answer in one picture
    headless.wait_idle(browser)
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 1100)
    print(f"screenshot: {shot}")


def test_a_bad_upload_in_the_browser_gets_a_message(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server.url)
    headless.chat_box(browser, 60)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    browser.find_element(By.CSS_SELECTOR, "[data-testid='stChatInput'] input[type='file']").send_keys(str(notes))
    headless.wait_until(lambda: "notes.txt" in _page_text(browser), 20, "the attached file")
    headless.ask(browser, "like this", timeout_s=20)
    headless.wait_until(lambda: "couldn't use 'notes.txt'" in _page_text(browser), 30, "the upload message")
    headless.ask(browser, "watches for men", timeout_s=30)  # the session keeps working
    headless.wait_until(lambda: "Here are 4 watches for men." in _page_text(browser) and headless.final_cards(browser),
                        30, "results after the bad upload")
    headless.wait_idle(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "ui_browser_bad_upload.png"))


def test_imagine_shows_the_generated_picture_then_real_products(server, browser):
    browser.get(server.url)
    headless.chat_box(browser, 60)
    headless.ask(browser, "imagine a red tshirt for women", timeout_s=60)
    headless.wait_until(lambda: "found from the imagined picture" in _page_text(browser), 90, "the imagined picture")
    headless.wait_idle(browser)
    text = _page_text(browser)
    assert "AI-generated" in text and "embedded catalog model" in text
    # the real products found from the picture come as cards with their own pictures
    headless.wait_until(lambda: headless.loaded_card_images(browser) >= 1, 30, "the found products' pictures")
    assert "looks like the imagined picture" in _page_text(browser) and "Red Tshirts" in _page_text(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1400, 1900)
    headless.wait_idle(browser)
    browser.save_screenshot(str(ARTIFACTS / "ui_browser_imagine.png"))
    browser.set_window_size(1400, 1100)
