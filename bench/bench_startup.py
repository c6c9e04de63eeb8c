"""Start-up of the multimodal LLM runner: wall time and peak memory of ``load_runner``.

Each measurement runs in a fresh process (peak RSS is per process), on the default config
(llama.cpp backend, shipped adaptors) with the exported GGUF already cached. It also
decodes a fixed prompt with an image so the before/after runners can be compared.

    nice -n 10 .venv/bin/python -m bench.bench_startup --mode full --label before
    nice -n 10 .venv/bin/python -m bench.bench_startup --mode light --label after

Writes bench/results/bench_startup.json (one entry per label).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

RESULTS = Path(__file__).resolve().parent / "results" / "bench_startup.json"
SAMPLE_IMAGE = "retrieval/sample_catalog/images"


def _child(mode: str, decode: bool) -> None:
    import resource
    import time

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
    ap.add_argument("--mode", choices=("full", "light"), default="light")
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
