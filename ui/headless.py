"""The page in a real headless browser: for the end-to-end test and ``bench/bench_ui.py``.

The server is started the way a person starts it (``python -m assistant ui --port N``, which
prints ``Open http://127.0.0.1:N`` once it answers). The browser is Debian's ``chromium``
driven by selenium through Debian's ``chromium-driver`` (no browser download; install with
``apt-get install chromium chromium-driver`` and ``pip install selenium``). Nothing here is
imported by the app itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)
CARD_CSS = "div[class*='st-key-card-']"
CARD_IMAGE_CSS = CARD_CSS + " img"
CHAT_BOX_CSS = "[data-testid='stChatInputTextArea']"
# A card with its buttons: drawn once the answer is complete (the live preview has none).
FINAL_CARD_BUTTON_XPATH = "//div[contains(@class,'st-key-card-') and not(contains(@class,'st-key-card-live'))]//button"


def find_browser() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, or why they cannot be used (a reason to skip)."""
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = next((p for p in map(shutil.which, DRIVERS) if p), None)
    missing = [name for name, path in (("chromium", browser), ("chromium-driver", driver)) if path is None]
    if missing:
        return f"no {' or '.join(missing)} on PATH (Debian: apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -r requirements.txt)"
    return browser, driver


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``python -m assistant ui --port N`` in its own process group, stopped on exit.

    ``env`` is added to this process's environment (e.g. ``SHOPASSIST_STORE_DIR``); ``app``:
    a script that wraps the page (``shopassist ui --app``), e.g. one serving a toy shop."""

    def __init__(self, env: Mapping[str, str] | None = None, port: int | None = None,
                 ready_timeout_s: float = 90.0, cwd: str | Path | None = None, app: str | Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.ready_timeout_s = ready_timeout_s
        self.cwd = str(cwd) if cwd else None
        self.app = ["--app", str(app)] if app else []
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._ready = threading.Event()

    def __enter__(self) -> "AppServer":
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant", "ui", "--port", str(self.port), *self.app],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
                                     cwd=self.cwd, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(self.ready_timeout_s):
            self.stop()
            raise RuntimeError(f"the app did not print 'Open {self.url}' within {self.ready_timeout_s:.0f} s:\n"
                               + self.log())
        self.ready_s = time.perf_counter() - self.started
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == f"Open {self.url}":
                self._ready.set()

    def log(self) -> str:
        return "\n".join(self.lines[-60:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the CLI and the streamlit server it started
            self.proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def __exit__(self, *exc) -> None:
        self.stop()


def chromium(width: int = 1400, height: int = 1100):
    """A headless Chromium (selenium), with a fresh profile; ``driver.quit()`` when done."""
    found = find_browser()
    if isinstance(found, str):
        raise RuntimeError(found)
    browser, driver_path = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    profile = tempfile.mkdtemp(prefix="shopassist-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-extensions", "--no-first-run",
                f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    driver.set_page_load_timeout(60)
    original_quit = driver.quit

    def quit_and_clean() -> None:
        try:
            original_quit()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.05):
    """``predicate()``'s first truthy value, polled; TimeoutError naming ``what`` otherwise."""
    deadline = time.perf_counter() + timeout_s
    last_error: Exception | None = None
    while time.perf_counter() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # stale elements while Streamlit redraws
            last_error, value = exc, None
        if value:
            return value
        time.sleep(poll_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}"
                       + (f" (last error: {last_error})" if last_error else ""))


def chat_box(driver, timeout_s: float = 120.0):
    """The chat input, once the page (and the models behind it) are ready."""
    from selenium.webdriver.common.by import By

    def ready():
        boxes = driver.find_elements(By.CSS_SELECTOR, CHAT_BOX_CSS)
        return boxes[0] if boxes and boxes[0].is_enabled() else None

    return wait_until(ready, timeout_s, "the chat input")


def ask(driver, text: str, timeout_s: float = 120.0) -> None:
    from selenium.webdriver.common.keys import Keys

    box = chat_box(driver, timeout_s)
    box.click()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def loaded_card_images(driver) -> int:
    """How many product-card pictures have loaded (decoded, non-zero width)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(i => i.complete && i.naturalWidth > 0).length;", CARD_IMAGE_CSS)


def busy(driver) -> bool:
    """Whether the script is running or stale elements are still on the page."""
    return driver.execute_script(
        "return !!document.querySelector(\"[data-testid='stStatusWidgetRunningIcon'],"
        " [data-testid='stStatusWidgetRunningManIcon'], [data-stale='true']\");")


def wait_idle(driver, timeout_s: float = 30.0, settle_s: float = 0.3) -> None:
    """Until the app has finished its run and redrawn (``settle_s`` without activity)."""
    deadline = time.perf_counter() + timeout_s
    quiet_since = None
    while time.perf_counter() < deadline:
        if busy(driver):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= settle_s:
            return
        time.sleep(0.05)
    what = driver.execute_script(
        "return Array.from(document.querySelectorAll(\"[data-testid='stStatusWidgetRunningIcon'],"
        " [data-testid='stStatusWidgetRunningManIcon'], [data-stale='true']\"))"
        ".map(e => (e.getAttribute('data-testid') || '') + ':' + (e.innerText || '').slice(0, 60)).slice(0, 5);")
    raise TimeoutError(f"the app was still busy after {timeout_s:.0f} s: {what}")


def final_cards(driver) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.XPATH, FINAL_CARD_BUTTON_XPATH))
