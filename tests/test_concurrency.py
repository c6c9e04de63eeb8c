"""Many sessions over one Assistant (one store, one model): no cross-talk, no errors; and
the resource bounds (generation timeout, bounded history, upload size)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from adapters.generation.base import GeneratedImage
from adapters.imaging import ImageLimits
from tests.helpers import ScriptedWriter, shirt_image, toy_assistant

SCRIPTS = [
    ["red tshirts", "cheaper", "for women"],
    ["blue watches", "for men", "any colour"],
    ["green sports shoes", "under 60", "not green"],
    ["black casual shoes for women", "more expensive", "in red"],
]


def test_sixteen_concurrent_sessions_keep_their_own_conversations(tmp_path):
    a = toy_assistant(tmp_path, writer=ScriptedWriter(lambda p: "This fits.", intro="Here we go."))
    errors, results = [], {}

    def run(i):
        s = a.new_session(user=f"u{i}")
        script = SCRIPTS[i % len(SCRIPTS)]
        try:
            for text in script:
                s.send(text)
                time.sleep(0.001)
        except Exception as exc:  # collected, asserted below
            errors.append(repr(exc))
        results[i] = (s.constraints.filter, [t.text for t in s.turns])

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(run, range(16)))
    assert not errors
    for i, (filt, texts) in results.items():
        assert texts == SCRIPTS[i % len(SCRIPTS)]  # each session saw exactly its own messages
        same = [results[j][0] for j in results if j % len(SCRIPTS) == i % len(SCRIPTS)]
        assert all(f == filt for f in same)  # same script, same constraints, whatever ran beside it
    assert results[0][0].genders == ("Women",) and results[1][0].colours == ()


class SlowGenerator:
    name = "slow"

    def __init__(self):
        self.release = threading.Event()

    def generate(self, request):
        self.release.wait(5)
        return GeneratedImage(shirt_image("Red"), "slow", "made slowly", 0, 5.0, request)


def test_image_generation_has_a_timeout(tmp_path):
    gen = SlowGenerator()
    a = toy_assistant(tmp_path, generator=gen, generation_timeout_s=0.3)
    s = a.new_session()
    s.send("red tshirts")
    t = time.perf_counter()
    reply = s.send("imagine a red tshirt with stripes")
    assert time.perf_counter() - t < 3 and "did not answer within" in reply.text
    gen.release.set()
    assert s.send("blue watches").products  # the session goes on


def test_uploads_over_the_limit_are_refused_before_decoding(tmp_path):
    a = toy_assistant(tmp_path, image_limits=ImageLimits(max_bytes=1000))
    reply = a.new_session().send("like this", image=b"\x89PNG" + b"\0" * 5000)
    assert reply.error and "1000" in reply.error.replace(",", "")


def test_the_shoppers_photo_copy_is_removed_after_generation(tmp_path):
    import tempfile
    from pathlib import Path

    from adapters.generation.factory import make_generator

    a = toy_assistant(tmp_path, generator=make_generator())
    product = a.search("red tshirts", k=1)[0].product
    before = set(Path(tempfile.gettempdir()).glob("shopassist-photo-*"))
    picture = a.visualise(product.id, mode="try_on", photo=shirt_image("Blue"))
    assert picture.image is not None and picture.backend
    time.sleep(0.2)  # the clean-up runs when the generation future completes
    assert set(Path(tempfile.gettempdir()).glob("shopassist-photo-*")) <= before
