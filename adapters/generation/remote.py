"""A remote image-generation server the user already runs, over HTTP (stdlib only).

Protocol: ``POST <url>`` with ``Content-Type: application/json`` and the body
``{"request": <ImageGenRequest.to_dict()>, "images": {"product_image"|"photo"|"mask": <base64 PNG>}}``
(the image paths are read here and sent inline, so the server needs no access to this
machine's files). The server answers ``200`` with a PNG or JPEG body; it may name itself in
an ``X-Generator`` header, which goes into the label. Anything else is a
:class:`GenerationError` naming the URL and the reason.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse

from adapters.generation.base import GeneratedImage, GenerationError, stamp_label
from adapters.imaging import DEFAULT_LIMITS, ImageError, ImageLimits, load_image
from adapters.output.request import ImageGenRequest, RequestError

logger = logging.getLogger(__name__)

LABEL = "Image from the remote generator {who} at {url}; not a photo of the real product"


@dataclass(frozen=True)
class RemoteConfig:
    url: str
    timeout_s: float = 120.0

    def __post_init__(self) -> None:
        parts = urlparse(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"RemoteConfig: url {self.url!r} must be an http(s)://host[:port]/path address")
        if self.timeout_s <= 0:
            raise ValueError("RemoteConfig: timeout_s must be positive")


def encode_png(img) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


class RemoteGenerator:
    def __init__(self, config: RemoteConfig, limits: ImageLimits = DEFAULT_LIMITS, stamp: bool = True):
        self.config = config
        self.limits = limits
        self.stamp = stamp
        self.name = f"remote:{config.url}"

    def payload(self, request: ImageGenRequest) -> bytes:
        images = {}
        for key in ("product_image", "photo", "mask"):
            path = getattr(request, key)
            if path:
                images[key] = encode_png(load_image(path, self.limits, name=f"{key} {path}"))
        return json.dumps({"request": request.to_dict(), "images": images}).encode()

    def generate(self, request: ImageGenRequest) -> GeneratedImage:
        start = time.perf_counter()
        body = self.payload(request)
        req = urllib.request.Request(self.config.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "image/png, image/jpeg"})
        url = self.config.url
        try:
            with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                data = resp.read(self.limits.max_bytes + 1)
                who = resp.headers.get("X-Generator", "")
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            if exc.code in (400, 422):
                raise RequestError(f"the generator at {url} refused the request: {detail or exc.reason}") from None
            raise GenerationError(f"the generator at {url} answered HTTP {exc.code} ({detail or exc.reason})") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GenerationError(f"the generator at {url} cannot be reached ({reason})") from None
        try:
            img = load_image(data, self.limits, name=f"reply from {url}")
        except ImageError as exc:
            raise GenerationError(str(exc)) from None
        label = LABEL.format(who=f"'{who}'" if who else "", url=url).replace("generator  at", "generator at")
        if self.stamp:
            img = stamp_label(img, "remote generator - not a photo")
        return GeneratedImage(img, self.name, label, request.seed, time.perf_counter() - start, request,
                              {"generator": who or None})
