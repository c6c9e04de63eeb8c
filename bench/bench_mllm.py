"""Benchmark of the multimodal LLM on this machine: load time, peak RSS, time to first
token and decode tokens/s for a 100-token reply with one image in the prompt.

    python -m bench.bench_mllm [--json OUT] [--threads N] [--untrained]

(The issue's llama.cpp side-by-side is not part of this script: llama-cpp-python is not
installed in this environment.)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--new-tokens", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2, help="timed runs (after one warm-up)")
    parser.add_argument("--untrained", action="store_true")
    args = parser.parse_args(argv)
    for k, v in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1")):
        os.environ.setdefault(k, v)
    logging.basicConfig(level=logging.WARNING)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from adapters.loading.mllm import load_mllm
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage, MLLMRunner
    from retrieval.catalog import SAMPLE_CATALOG

    t0 = time.perf_counter()
    loaded = load_mllm(MLLMConfig(device="cpu", adapter_path=None) if args.untrained else MLLMConfig(device="cpu"))
    load_s = time.perf_counter() - t0
    runner = MLLMRunner(loaded)
    image = str(SAMPLE_CATALOG.parent / "images" / "25670.jpg")
    msgs = [ChatMessage("user", "Describe this product in detail.", image=image)]
    inputs = runner.build_inputs(msgs)
    kwargs = runner._gen_kwargs(args.new_tokens, 0, 0.0)
    kwargs.update(min_new_tokens=args.new_tokens)  # a full-length reply, however the model would stop

    runs = []
    for i in range(args.runs + 1):
        from transformers import TextIteratorStreamer
        import threading

        streamer = TextIteratorStreamer(runner.tokenizer, skip_prompt=True)
        start = time.perf_counter()
        th = threading.Thread(target=lambda: loaded.model.generate(**inputs, **kwargs, streamer=streamer))
        with torch.inference_mode():
            th.start()
            first = None
            for piece in streamer:
                if first is None and piece:
                    first = time.perf_counter()
            th.join()
        end = time.perf_counter()
        ttft = (first or end) - start
        decode_tps = (args.new_tokens - 1) / max(1e-9, end - (first or end))
        if i:  # run 0 is the warm-up
            runs.append({"ttft_s": round(ttft, 3), "total_s": round(end - start, 3),
                         "decode_tokens_per_s": round(decode_tps, 2),
                         "end_to_end_tokens_per_s": round(args.new_tokens / (end - start), 2)})
    result = {
        "backend": "transformers fp32 (LlavaForConditionalGeneration, LoRA merged)",
        "stage": loaded.stage, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "platform": platform.platform(), "torch": torch.__version__,
        "prompt_tokens": int(inputs["input_ids"].shape[1]), "image_tokens": loaded.model.config.image_seq_length,
        "new_tokens": args.new_tokens, "load_s": round(load_s, 2), "peak_rss_mb": round(peak_rss_mb(), 1),
        "runs": runs,
        "ttft_s_median": sorted(r["ttft_s"] for r in runs)[len(runs) // 2],
        "decode_tokens_per_s_median": sorted(r["decode_tokens_per_s"] for r in runs)[len(runs) // 2],
        "llama_cpp": "not measured: llama-cpp-python is not installed here (builds from source, ~4 min)",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
