"""The HTTP backend against a server the test starts on 127.0.0.1 (no outside network)."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from adapters.generation.base import GenerationError
from adapters.generation.remote import RemoteConfig, RemoteGenerator
from adapters.output import ImageGenRequest, RequestError


class _Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append(body)
        req = ImageGenRequest.from_dict(body["request"])
        if self.path == "/fail":
            self._reply(500, b"out of GPU memory", "text/plain")
        elif self.path == "/refuse":
            self._reply(422, b"prompt not allowed", "text/plain")
        elif self.path == "/junk":
            self._reply(200, b"<html>hello</html>", "text/html")
        else:
            colour = (0, 200, 0)
            if "photo" in body["images"]:  # echo the photo's top-left pixel back, to prove it arrived
                photo = Image.open(io.BytesIO(base64.b64decode(body["images"]["photo"])))
                colour = photo.convert("RGB").getpixel((0, 0))
            buf = io.BytesIO()
            Image.new("RGB", (req.width, req.height), colour).save(buf, format="PNG")
            self._reply(200, buf.getvalue(), "image/png", {"X-Generator": "test-sd"})

    def _reply(self, code, data, ctype, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_remote_round_trip(server, tmp_path):
    Image.new("RGB", (40, 40), (10, 20, 30)).save(tmp_path / "room.png")
    Image.new("RGB", (40, 40), (255, 255, 255)).save(tmp_path / "p.png")
    req = ImageGenRequest(mode="in_room", prompt="a sofa", product_image=str(tmp_path / "p.png"),
                          photo=str(tmp_path / "room.png"), width=128, height=96, seed=9)
    out = RemoteGenerator(RemoteConfig(server + "/generate"), stamp=False).generate(req)
    assert out.image.size == (128, 96) and out.image.getpixel((5, 5)) == (10, 20, 30)
    assert out.backend == f"remote:{server}/generate" and "'test-sd'" in out.label and "not a photo" in out.label
    sent = _Handler.seen[-1]
    assert ImageGenRequest.from_dict(sent["request"]) == req and set(sent["images"]) == {"product_image", "photo"}


def test_remote_failures_are_clear(server):
    req = ImageGenRequest(mode="imagine", prompt="a lamp", width=64, height=64)
    with pytest.raises(GenerationError, match="HTTP 500 .out of GPU memory"):
        RemoteGenerator(RemoteConfig(server + "/fail")).generate(req)
    with pytest.raises(RequestError, match="refused the request: prompt not allowed"):
        RemoteGenerator(RemoteConfig(server + "/refuse")).generate(req)
    with pytest.raises(GenerationError, match="not an image"):
        RemoteGenerator(RemoteConfig(server + "/junk")).generate(req)
    with pytest.raises(GenerationError, match="cannot be reached"):
        RemoteGenerator(RemoteConfig("http://127.0.0.1:9/x", timeout_s=2)).generate(req)
    with pytest.raises(ValueError, match="http"):
        RemoteConfig("ftp://example/x")
