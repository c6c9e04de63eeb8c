"""Many shoppers, one model: 8 sessions each asking for their explanations at the same time,
decoded one conversation at a time (the lock the assistant held before) against one
llama.cpp batch across sessions (SequenceBatcher), in one run on the same loaded runner.

    nice -n 10 .venv/bin/python -m bench.bench_batching [--sessions 8] [--per-session 3]

Writes bench/results/bench_batching.json.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from adapters.loading.mllm import load_runner
from adapters.mllm.config import MLLMConfig
from adapters.mllm.runner import ChatMessage
from retrieval.catalog import SAMPLE_CATALOG, read_catalog
from retrieval.stats import percentile

RESULTS = Path(__file__).resolve().parent / "results" / "bench_batching.json"


def _session_requests(products, sessions: int, per_session: int) -> list[list[list[ChatMessage]]]:
    """Explanation-like requests: one short sentence per shown product, per session."""
    out = []
    for s in range(sessions):
        convs = []
        for j in range(per_session):
            p = products[(s * per_session + j) * 37 % len(products)]
            convs.append([ChatMessage("user", f"The shopper asked for {p.article_type.lower()} for {p.gender.lower()}. "
                                              f"In one sentence, why is '{p.title}' ({p.base_colour}, "
                                              f"${p.price:.2f}) a good match?")])
        out.append(convs)
    return out


def _run(runner, requests, max_new_tokens: int, serial_lock: threading.Lock | None) -> dict:
    latencies: list[float] = [0.0] * len(requests)
    answers: list[list[str]] = [[] for _ in requests]
    start = threading.Barrier(len(requests))

    def session(i: int) -> None:
        start.wait()
        t0 = time.perf_counter()
        if serial_lock is not None:
            with serial_lock:
                answers[i] = runner.generate_batch(requests[i], max_new_tokens=max_new_tokens, no_repeat_ngram_size=3)
        else:
            answers[i] = runner.generate_batch(requests[i], max_new_tokens=max_new_tokens, no_repeat_ngram_size=3)
        latencies[i] = time.perf_counter() - t0

    t0 = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "sessions_per_s": round(len(requests) / wall, 3),
            "session_s_p50": round(percentile(latencies, 50), 2), "session_s_p95": round(percentile(latencies, 95), 2),
            "answers": answers}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--per-session", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    args = ap.parse_args()
    runner = load_runner(MLLMConfig(device="cpu", backend="llama.cpp"))
    requests = _session_requests(read_catalog(SAMPLE_CATALOG).products, args.sessions, args.per_session)
    runner.generate_batch(requests[0][:1], max_new_tokens=4)  # warm-up (one-at-a-time path)
    runner.batch_sequences = 0
    serial = _run(runner, requests, args.max_new_tokens, threading.Lock())
    runner.batch_sequences = 8
    runner.generate_batch(requests[0][:1], max_new_tokens=4)  # makes the batch context
    batched = _run(runner, requests, args.max_new_tokens, None)
    same = sum(a.split()[:4] == b.split()[:4] for sa, sb in zip(serial["answers"], batched["answers"])
               for a, b in zip(sa, sb))
    total = args.sessions * args.per_session
    out = {"sessions": args.sessions, "explanations_per_session": args.per_session,
           "max_new_tokens": args.max_new_tokens, "one_at_a_time": {k: v for k, v in serial.items() if k != "answers"},
           "batched": {k: v for k, v in batched.items() if k != "answers"},
           "speedup_wall": round(serial["wall_s"] / batched["wall_s"], 2),
           "answers_with_same_first_4_words": f"{same}/{total}",
           "example": {"one_at_a_time": serial["answers"][0][0], "batched": batched["answers"][0][0]}}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
