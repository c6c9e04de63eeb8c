"""Assistant benchmarks on 2 CPU cores with the embedded default (SmolLM2 + trained adaptors,
the sample-catalog store):

* ``turns``: end-to-end turn latency over scripted multi-turn conversations: time to the
  product list, to the first streamed text, to the full reply (LLM explanations checked).
* ``concurrent``: N sessions in threads over one loaded Assistant (one store, one model),
  each with its own conversation: throughput, p50/p95 turn latency, errors, and a
  cross-talk check (every session's constraints are exactly its own).

    python bench/bench_assistant.py --store .store --json bench/results/bench_assistant.json
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters.offline import apply_offline_defaults  # noqa: E402

apply_offline_defaults()  # before the model libraries are imported

from tqdm.auto import tqdm  # noqa: E402

from assistant import Assistant, load_assistant  # noqa: E402
from assistant.evaluation import make_conversations  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from retrieval.catalog import read_catalog  # noqa: E402
from retrieval.stats import percentile  # noqa: E402

TARGETS = {"products_s_p50": 1.0, "full_reply_s_p50": 8.0}


def bench_turns(assistant: Assistant, conversations) -> dict:
    products, first_text, full = [], [], []
    for conv in tqdm(conversations, desc="conversations"):
        session = assistant.new_session()
        for turn in conv.turns:
            t0 = time.perf_counter()
            pending = session.start(turn.text)
            t1 = time.perf_counter()
            first = None
            for _ in pending.stream():
                first = first or time.perf_counter()
            pending.finish()
            t2 = time.perf_counter()
            if pending.products:
                products.append(t1 - t0)
                first_text.append((first or t2) - t0)
                full.append(t2 - t0)
    return {"turns": len(full), "products_s_p50": percentile(products, 50, 3),
            "products_s_p95": percentile(products, 95, 3), "first_text_s_p50": percentile(first_text, 50, 3),
            "full_reply_s_p50": percentile(full, 50, 3), "full_reply_s_p95": percentile(full, 95, 3)}


def bench_concurrent(assistant: Assistant, conversations, workers: int) -> dict:
    """One thread per conversation, ``workers`` at a time; every session checked for cross-talk."""
    latencies, errors, crosstalk = [], [], []
    lock = threading.Lock()

    def run(conv):
        session = assistant.new_session()
        for turn in conv.turns:
            t0 = time.perf_counter()
            try:
                reply = session.send(turn.text)
            except Exception as exc:  # counted and reported, the bench goes on
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
            types = set(session.constraints.filter.article_types)
            if conv.anchor.article_type not in types:
                with lock:
                    crosstalk.append((turn.text, session.constraints.describe()))
            if reply.constraints != session.constraints.describe():
                with lock:
                    crosstalk.append((turn.text, "reply constraints differ from its session's"))

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(tqdm(pool.map(run, conversations), total=len(conversations), desc=f"{workers} concurrent sessions"))
    elapsed = time.perf_counter() - start
    return {"sessions": len(conversations), "workers": workers, "turns": len(latencies),
            "turns_per_s": round(len(latencies) / elapsed, 3), "turn_s_p50": percentile(latencies, 50, 3),
            "turn_s_p95": percentile(latencies, 95, 3), "errors": len(errors), "error_examples": errors[:5],
            "crosstalk": len(crosstalk), "crosstalk_examples": crosstalk[:5]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=".store")
    ap.add_argument("--conversations", type=int, default=12, help="scripted conversations for the turn bench")
    ap.add_argument("--concurrent", type=int, default=8, help="sessions run at once (0: skip)")
    ap.add_argument("--concurrent-llm", action="store_true", help="LLM explanations on in the concurrent bench too")
    ap.add_argument("--json")
    args = ap.parse_args()
    settings = Settings(store_dir=args.store)
    catalog = read_catalog(settings.catalog)
    convs = make_conversations(catalog.products, n=args.conversations + 2 * args.concurrent, seed=7)
    t = time.perf_counter()
    assistant = load_assistant(settings, generator=False)
    result = {"load_s": round(time.perf_counter() - t, 2), "device": "cpu (2 cores)", "status": assistant.status}
    bench_turns(assistant, convs[:2])  # warm-up
    result["turns"] = bench_turns(assistant, convs[2: 2 + args.conversations])
    if args.concurrent:
        pool = convs[args.conversations: args.conversations + 2 * args.concurrent]
        target = assistant if args.concurrent_llm else load_assistant(settings, llm=False, generator=False)
        result["concurrent"] = bench_concurrent(target, pool, args.concurrent)
        result["concurrent"]["llm"] = bool(args.concurrent_llm)
    result["targets"] = TARGETS
    result["meets_targets"] = {k: result["turns"][k] is not None and result["turns"][k] <= v for k, v in TARGETS.items()}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
