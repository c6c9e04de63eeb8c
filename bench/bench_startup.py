"""Start-up: wall time and peak memory of ``load_runner`` (the multimodal LLM), or of the whole
assistant the chat page loads (``--mode assistant``: imports + ``load_assistant()`` + a first
search, over the store in ``SHOPASSIST_STORE_DIR``, default ``.store``).

Each measurement runs in a fresh process (peak RSS is per process), on the default config
(llama.cpp backend, shipped adaptors) with the exported GGUF already cached. The runner modes
also decode a fixed prompt with an image so the before/after runners can be compared.

    nice -n 10 .venv/bin/python -m bench.bench_startup --mode full --label before
    nice -n 10 .venv/bin/python -m bench.bench_startup --mode light --label after
    .venv/bin/python -m bench.bench_startup --mode assistant --label assistant

Writes bench/results/bench_startup.json (one entry per label).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

RESULTS = Path(__file__).resolve().parent / "results" / "bench_startup.json"
SAMPLE_IMAGE = "retrieval/sample_catalog/images"


def _cpu_s() -> float:
    """CPU seconds of this process (all threads) and its finished children (the llama.cpp probe)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _assistant_child() -> None:
    """What the chat page's first visit waits for: the imports, ``load_assistant()`` (with the LLM
    left loading in the background where the code can) and the first products of a search."""
    import inspect
    import resource
    import time

    t0 = time.perf_counter()
    from assistant import load_assistant
    from assistant.services import load_parts

    t_import = time.perf_counter() - t0
    background = "llm_in_background" in inspect.signature(load_parts).parameters  # not in older code
    assistant = load_assistant(**({"llm_in_background": True} if background else {}))
    t_load = time.perf_counter() - t0
    peak_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_load = _cpu_s()  # less sensitive than wall time to other work on the machine
    turn = assistant.new_session().start("red tshirts for men")  # products on screen; the LLM text follows
    t_products = time.perf_counter() - t0
    runner = assistant.describer
    runner.ready() if background else None
    print(json.dumps({"mode": "assistant", "load_average_1min": round(os.getloadavg()[0], 2),
                      "llm_in_background": background, "import_s": round(t_import, 2),
                      "load_s": round(t_load, 2), "first_products_s": round(t_products, 2),
                      "llm_ready_s": round(time.perf_counter() - t0, 2), "cpu_s_at_load": round(cpu_load, 2),
                      "cpu_s": round(_cpu_s(), 2), "peak_rss_mb_after_load": round(peak_load),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "products": len(turn.products), "status": assistant.status}))


def _child(mode: str, decode: bool) -> None:
    import resource
    import time

    if mode == "assistant":
        _assistant_child()
        return
    t0 = time.perf_counter()
    from adapters.loading import mllm
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage

    t_import = time.perf_counter() - t0
    cfg = MLLMConfig(device="cpu", backend="llama.cpp", max_new_tokens=12)
    if mode == "full":  # what load_runner did before: the whole torch LLaVA, then llama.cpp
        loaded = mllm.load_mllm(cfg)
        runner = mllm.llama_runner(loaded, mllm.exported_gguf(loaded), cfg)
    else:
        runner = mllm.load_runner(cfg)
    t_load = time.perf_counter() - t0
    peak_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = None
    if decode:
        image = sorted(Path(SAMPLE_IMAGE).iterdir())[0]
        text = runner.generate([ChatMessage("user", "Describe this product.", image=str(image))])
    print(json.dumps({"mode": mode, "import_s": round(t_import, 2), "load_s": round(t_load, 2),
                      "peak_rss_mb_after_load": round(peak_load),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "torch_model": "vision side only" if runner.loaded.model.lm_head.weight.is_meta else "full",
                      "first_words": text}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="current")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--mode", choices=("full", "light", "assistant"), default="light")
    ap.add_argument("--no-decode", action="store_true", help="load only (a llama.cpp build that cannot decode here)")
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        _child(args.mode, not args.no_decode)
        return
    runs = []
    for _ in range(args.repeats):
        cmd = [sys.executable, "-m", "bench.bench_startup", "--child", "--mode", args.mode]
        out = subprocess.run(cmd + (["--no-decode"] if args.no_decode else []), capture_output=True,
                             text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(runs[-1])
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[args.label] = {"runs": runs, "load_s_min": min(r["load_s"] for r in runs),
                           "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results[args.label], indent=2))


if __name__ == "__main__":
    main()
