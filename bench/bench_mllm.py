"""Benchmark of the multimodal LLM on this machine, side by side in one run: load time,
peak RSS, time to first token and decode tokens/s for a 100-token reply.

    python -m bench.bench_mllm [--json OUT] [--threads N] [--backends a,b,c]

Backends, each measured in its own process (so load time and peak memory are its own):

* ``transformers``: ``LlavaForConditionalGeneration`` fp32 with the trained adaptors
  (LoRA merged), one image in the prompt.
* ``llama.cpp+image``: the project's llama.cpp backend: the same model, image rows from
  the torch tower and projector fed to llama.cpp as embeddings, LoRA merged into the
  exported GGUF (:class:`adapters.mllm.llamacpp_runner.LlamaCppRunner`).
* ``llama.cpp``: plain llama-cpp-python on the packaged SmolLM2 GGUF, a text prompt of
  the same token count: the reference decode speed the issue's 0.7x target is set against.

Every reply is forced to the full length (end-of-turn is not taken before 100 tokens).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from adapters.offline import apply_offline_defaults
from retrieval.stats import percentile

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("transformers", "llama.cpp+image", "llama.cpp")
QUESTION = "Describe this product in detail."


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _timed_runs(run_once, runs: int) -> list[dict]:
    """``run_once(on_token)`` decodes one reply; run 0 is a warm-up."""
    out = []
    for i in range(runs + 1):
        stamps: list[float] = []
        start = time.perf_counter()
        run_once(lambda _tok: stamps.append(time.perf_counter()))
        end = time.perf_counter()
        if not stamps:
            raise RuntimeError("no token was generated")
        if i:
            out.append({"ttft_s": round(stamps[0] - start, 3), "total_s": round(end - start, 3),
                        "new_tokens": len(stamps),
                        "decode_tokens_per_s": round((len(stamps) - 1) / max(1e-9, stamps[-1] - stamps[0]), 2),
                        "end_to_end_tokens_per_s": round(len(stamps) / (end - start), 2)})
    return out


def _image() -> str:
    from retrieval.catalog import SAMPLE_CATALOG

    return str(SAMPLE_CATALOG.parent / "images" / "25670.jpg")


def bench_transformers(new_tokens: int, runs: int) -> dict:
    import torch
    from transformers.generation.streamers import BaseStreamer

    from adapters.loading.mllm import load_runner
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage

    t0 = time.perf_counter()
    runner = load_runner(MLLMConfig(device="cpu", backend="transformers"))
    load_s = time.perf_counter() - t0
    inputs = runner.build_inputs([ChatMessage("user", QUESTION, image=_image())])
    kwargs = runner._gen_kwargs(new_tokens, 0, 0.0)
    kwargs.update(min_new_tokens=new_tokens)

    class Stamp(BaseStreamer):
        def __init__(self, on_token):
            self.on_token, self.prompt_seen = on_token, False

        def put(self, value):
            if not self.prompt_seen:  # generate() first puts the prompt
                self.prompt_seen = True
                return
            self.on_token(value)

        def end(self):
            pass

    def once(on_token):
        with torch.inference_mode():
            runner.model.generate(**inputs, **kwargs, streamer=Stamp(on_token))

    return {"backend": "transformers", "detail": "LlavaForConditionalGeneration fp32, LoRA merged, 1 image",
            "load_s": round(load_s, 2), "prompt_tokens": int(inputs["input_ids"].shape[1]),
            "image_tokens": runner.model.config.image_seq_length, "runs": _timed_runs(once, runs)}


def bench_llamacpp_image(new_tokens: int, runs: int) -> dict:
    from adapters.loading.mllm import load_runner
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage

    t0 = time.perf_counter()
    runner = load_runner(MLLMConfig(device="cpu", backend="llama.cpp"))
    load_s = time.perf_counter() - t0
    inputs = runner.build_inputs([ChatMessage("user", QUESTION, image=_image())])

    def once(on_token):
        runner._run(inputs, new_tokens, 0, 0.0, 0, on_token, min_new_tokens=new_tokens)

    return {"backend": "llama.cpp+image", "load_s": round(load_s, 2),
            "detail": "llama.cpp decode of the exported GGUF (LoRA merged, F32 attention), image rows "
                      "from the torch tower + projector as input embeddings",
            "prompt_tokens": int(inputs["input_ids"].shape[1]),
            "image_tokens": runner.model.config.image_seq_length, "runs": _timed_runs(once, runs),
            "sample": runner.generate([ChatMessage("user", QUESTION, image=_image())], max_new_tokens=40)}


def bench_llamacpp_text(new_tokens: int, runs: int, prompt_tokens: int) -> dict:
    import torch
    from llama_cpp import Llama

    from adapters.loading.mllm import SMOLLM2_GGUF, smollm2_folder

    t0 = time.perf_counter()
    llm = Llama(model_path=str(smollm2_folder() / SMOLLM2_GGUF), n_ctx=2048, n_threads=torch.get_num_threads(),
                verbose=False)
    load_s = time.perf_counter() - t0
    text = "<|im_start|>user\n" + " ".join(["Describe this product in detail, please."] * 40)
    tokens = llm.tokenize(text.encode(), add_bos=False, special=True)[: prompt_tokens - 3]
    tokens += llm.tokenize(b"<|im_end|>\n<|im_start|>assistant\n", add_bos=False, special=True)

    def once(on_token):
        llm.reset()
        for i, tok in enumerate(llm.generate(tokens, top_k=1, temp=0.0, reset=True)):
            on_token(tok)
            if i + 1 >= new_tokens:
                break

    result = {"backend": "llama.cpp", "detail": f"llama-cpp-python on the packaged {SMOLLM2_GGUF}, text prompt",
              "load_s": round(load_s, 2), "prompt_tokens": len(tokens), "image_tokens": 0,
              "runs": _timed_runs(once, runs)}
    llm.close()
    return result


def run_one(backend: str, new_tokens: int, runs: int, prompt_tokens: int, threads: int) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    if backend == "transformers":
        res = bench_transformers(new_tokens, runs)
    elif backend == "llama.cpp+image":
        res = bench_llamacpp_image(new_tokens, runs)
    else:
        res = bench_llamacpp_text(new_tokens, runs, prompt_tokens)
    res.update(threads=torch.get_num_threads(), peak_rss_mb=round(peak_rss_mb(), 1),
               ttft_s_median=percentile([r["ttft_s"] for r in res["runs"]], 50),
               decode_tokens_per_s_median=percentile([r["decode_tokens_per_s"] for r in res["runs"]], 50))
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch / llama.cpp threads (0: default)")
    parser.add_argument("--new-tokens", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per backend (after one warm-up)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--one", choices=BACKENDS, help=argparse.SUPPRESS)  # child process: one backend
    parser.add_argument("--prompt-tokens", type=int, default=68, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    apply_offline_defaults()
    logging.basicConfig(level=logging.WARNING)
    if args.one:
        print(json.dumps(run_one(args.one, args.new_tokens, args.runs, args.prompt_tokens, args.threads)))
        return 0
    results, prompt_tokens = {}, args.prompt_tokens
    for backend in args.backends.split(","):
        cmd = [sys.executable, "-m", "bench.bench_mllm", "--one", backend, "--new-tokens", str(args.new_tokens),
               "--runs", str(args.runs), "--threads", str(args.threads), "--prompt-tokens", str(prompt_tokens)]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if proc.returncode:
            results[backend] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
            print(f"{backend}: failed: {results[backend]['error']}", file=sys.stderr)
            continue
        results[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
        if backend != "llama.cpp":  # the text reference gets the same prompt length as the image prompts
            prompt_tokens = results[backend]["prompt_tokens"]
        r = results[backend]
        print(f"{backend:16s} load {r['load_s']:6.2f} s  peak RSS {r['peak_rss_mb']:7.1f} MB  "
              f"TTFT {r['ttft_s_median']:.3f} s  decode {r['decode_tokens_per_s_median']:7.2f} tok/s", file=sys.stderr)
    ref = results.get("llama.cpp", {}).get("decode_tokens_per_s_median")
    ours = results.get("llama.cpp+image", {}).get("decode_tokens_per_s_median")
    tf = results.get("transformers", {}).get("decode_tokens_per_s_median")
    summary = {
        "new_tokens": args.new_tokens, "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "backends": results,
        "decode_ratio_vs_llama_cpp": {
            "llama.cpp+image": round(ours / ref, 3) if ours and ref else None,
            "transformers": round(tf / ref, 3) if tf and ref else None,
        },
        "target_ratio": 0.7,
        "default_backend": "llama.cpp+image when llama-cpp-python is installed (MLLMConfig.backend='auto')",
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
