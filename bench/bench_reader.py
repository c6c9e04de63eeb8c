"""How fast products reach the screen with the request reader, beside today's parser, on the
hand-written dev requests (single messages and composed ones), 2 CPU cores, facts-only turns
(the LLM's words stream after the products and are timed in bench_assistant.py).

    python bench/bench_reader.py --store .store --json bench/results/bench_reader.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters.offline import apply_offline_defaults  # noqa: E402

apply_offline_defaults()  # before the model libraries are imported

from tqdm.auto import tqdm  # noqa: E402

from assistant import AssistantConfig, Settings, build_assistant, load_parts  # noqa: E402
from assistant.eval_understanding import load_requests  # noqa: E402
from retrieval.catalog import read_catalog  # noqa: E402
from retrieval.query_parser import QueryParser  # noqa: E402
from retrieval.search import ProductSearch  # noqa: E402
from retrieval.stats import percentile  # noqa: E402

TARGETS = {"reader_products_ms_p50": 150.0}


def timed_turns(assistant, requests: list[dict], images: dict[str, str], label: str) -> list[float]:
    out = []
    for req in tqdm(requests, desc=label):
        image = images.get(req.get("photo_id", ""))
        session = assistant.new_session()
        t0 = time.perf_counter()
        turn = session.start(req["text"], image)
        turn.preview()
        out.append((time.perf_counter() - t0) * 1000)
        turn.finish()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=".store")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    parts = load_parts(Settings(store_dir=args.store), llm=False, generator=False)
    load_s = time.perf_counter() - t0
    search = parts.search
    parser_parts = replace(parts, search=ProductSearch(search.store, search.embedder, QueryParser(search.parser.vocab),
                                                       search.cfg))
    reader, parser = build_assistant(parts, AssistantConfig()), build_assistant(parser_parts, AssistantConfig())
    images = {p.id: p.image for p in read_catalog(Settings().catalog).products}
    requests = load_requests("dev")
    result: dict = {"load_s": round(load_s, 2), "device": "cpu (2 cores)"}
    for suite in ("single", "composed"):
        reqs = requests.get(suite, [])
        for name, assistant in (("reader", reader), ("parser", parser)):
            ms = timed_turns(assistant, reqs, images, f"{suite}/{name}")
            result[f"{name}_{suite}_ms_p50"] = percentile(ms, 50, 1)
            result[f"{name}_{suite}_ms_p95"] = percentile(ms, 95, 1)
    result["reader_products_ms_p50"] = result["reader_single_ms_p50"]
    result["targets"] = TARGETS
    result["meets_targets"] = {k: result[k] <= v for k, v in TARGETS.items()}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
