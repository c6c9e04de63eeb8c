"""Subcommand: ui (the chat web page, Streamlit, on 127.0.0.1).

``shopassist ui [--port N]`` runs ``streamlit run ui/app.py`` headless on 127.0.0.1 with
telemetry off, waits until the server answers, then prints ``Open http://127.0.0.1:N``.
The server starts loading the embedded default models and the local store at once
(``ui/serve.py``; settings from ``SHOPASSIST_*`` as everywhere else), so the first visit
finds them loaded or loading. Ctrl-C stops it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8501
MAX_UPLOAD_MB = 64  # Streamlit's own cap; the assistant's image limit (20 MB) gives the clear message below it
READY_TIMEOUT_S = 60.0


def _port(text: str) -> int:
    import argparse

    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port {text!r} must be a number from 1 to 65535")
    return port


def register(sub) -> None:
    p = sub.add_parser("ui", help="the chat web page (Streamlit) on 127.0.0.1; prints its URL")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    p.add_argument("--app", type=Path, default=None,
                   help="a script that wraps the page (e.g. hands it another assistant with ui.loading.provide); "
                        "default: the page itself, ui/app.py")
    p.set_defaults(func=cmd_ui)


def app_path() -> Path:
    """``ui/app.py`` of the installed project (found without importing the ui package)."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        from assistant.cli import UserError

        raise UserError("the ui package is not installed (run `make setup`)")
    return Path(list(spec.submodule_search_locations)[0]) / "app.py"


def streamlit_command(port: int, app: Path | str | None = None) -> list[str]:
    """``streamlit run`` for ``app``; for the page itself through ``ui.serve``, which is the same
    command with the assistant loading from the server's start (not on the first visit)."""
    launcher = "streamlit" if app is not None else "ui.serve"
    return [sys.executable, "-m", launcher, "run", str(app or app_path()),
            "--server.headless", "true", "--server.address", ADDRESS, "--server.port", str(port),
            "--browser.gatherUsageStats", "false", "--server.maxUploadSize", str(MAX_UPLOAD_MB),
            "--server.fileWatcherType", "none"]


def port_free(port: int, host: str = ADDRESS) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout_s: float = READY_TIMEOUT_S) -> bool:
    """True once ``url``/_stcore/health answers; False on timeout or when ``proc`` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_ui(args) -> int:
    from assistant.cli import UserError

    if not port_free(args.port):
        raise UserError(f"port {args.port} on {ADDRESS} is in use: pick another with --port")
    url = f"http://{ADDRESS}:{args.port}"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if args.app is not None and not args.app.is_file():
        raise UserError(f"--app {args.app}: no such file")
    proc = subprocess.Popen(streamlit_command(args.port, args.app), env=env)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` of this command stops the server too
    try:
        if not wait_healthy(url, proc):
            proc.terminate()
            proc.wait(10)
            raise UserError(f"the Streamlit server did not come up on {url} (see its output above)")
        print(f"Open {url}", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
