"""How fast products reach the screen with each request reader (``REQUEST_READER``: the words
reader, today's parser, the LLM reader alone or with the words), on the hand-written dev
requests (single messages and composed ones with their photo), 2 CPU cores, facts-only turns
(the LLM's words stream after the products and are timed in bench_assistant.py).

    python bench/bench_reader.py --store .store --json bench/results/bench_reader.json
    python bench/bench_reader.py --readers words words+llm llm --limit 121 --json bench/results/bench_reader_llm.json

An LLM reader gets its own decoder with no cache, so every message it asks about is decoded.
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
from assistant.eval_readers import VARIANTS  # noqa: E402
from assistant.eval_understanding import load_requests  # noqa: E402
from assistant.llm_reader import LLMRequestReader, UpdateDecoder  # noqa: E402
from assistant.services import mllm_runner  # noqa: E402
from retrieval.catalog import read_catalog  # noqa: E402
from retrieval.query_parser import QueryParser  # noqa: E402
from retrieval.search import ProductSearch  # noqa: E402
from retrieval.stats import percentile  # noqa: E402

TARGETS = {"reader_products_ms_p50": 150.0}
LLM_TARGET_MS = 1000.0  # issue 13: products on screen, p50, when the LLM reader runs
READERS = ("words", "parser", *(n for n in VARIANTS if n != "words"))


def timed_turns(assistant, requests: list[dict], images: dict[str, str], label: str, decoder=None
                ) -> tuple[list[float], list[float]]:
    """Milliseconds to the products of each request's turn, and of the turns that asked the LLM."""
    out, asked = [], []
    for req in tqdm(requests, desc=label):
        calls = decoder.stats["calls"] if decoder is not None else 0
        image = images.get(req.get("photo", ""))  # composed requests name their catalog photo
        session = assistant.new_session()
        t0 = time.perf_counter()
        turn = session.start(req["text"], image)
        turn.preview()
        out.append((time.perf_counter() - t0) * 1000)
        if decoder is not None and decoder.stats["calls"] > calls:
            asked.append(out[-1])
        turn.finish()
    return out, asked


def readers_for(names, parts, settings: Settings) -> dict:
    """name -> (label in the figures, reader, its LLM decoder or None)."""
    words = parts.search.parser
    out = {}
    for name in names:
        if name == "parser":
            out[name] = ("parser", QueryParser(words.vocab), None)
        elif name == "words":
            out[name] = ("reader", words, None)
        else:
            cfg = VARIANTS[name]
            decoder = UpdateDecoder(mllm_runner(settings.reader_mllm_config()), words.vocab, cfg.max_new_tokens,
                                    cache_size=0)
            decoder.warm_up()  # as the assistant's loading does
            out[name] = (name, LLMRequestReader(words, decoder, cfg), decoder)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=".store")
    ap.add_argument("--readers", nargs="+", choices=READERS, default=["words", "parser"])
    ap.add_argument("--adapter", help="the LLM reader's adaptor folder (default: the shipped adapters/weights/reader)")
    ap.add_argument("--threads", type=int, default=Settings().reader_threads, help="the LLM reader's llama.cpp threads")
    ap.add_argument("--limit", type=int, help="the first N requests of each suite (default: all; 121 single and 77 "
                                               "composed were the dev split when the LLM reader was first timed)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    settings = Settings(store_dir=args.store, request_reader="words", reader_threads=args.threads,
                        **({"reader_adapter": args.adapter} if args.adapter else {}))
    parts = load_parts(settings, llm=False, generator=False)
    readers = readers_for(args.readers, parts, settings)
    load_s = time.perf_counter() - t0
    search = parts.search
    images = {p.id: p.image for p in read_catalog(Settings().catalog).products}
    requests = load_requests("dev")
    result: dict = {"load_s": round(load_s, 2), "device": "cpu (2 cores)", "readers": list(args.readers),
                    "reader_threads": args.threads}
    targets = dict(TARGETS) if "words" in readers else {}
    for suite in ("single", "composed"):
        reqs = requests.get(suite, [])[:args.limit]
        for name, (label, reader, decoder) in readers.items():
            reader_parts = replace(parts, search=ProductSearch(search.store, search.embedder, reader, search.cfg))
            ms, asked = timed_turns(build_assistant(reader_parts, AssistantConfig()), reqs, images,
                                    f"{suite}/{name}", decoder)
            result[f"{label}_{suite}_ms_p50"] = percentile(ms, 50, 1)
            result[f"{label}_{suite}_ms_p95"] = percentile(ms, 95, 1)
            if decoder is not None:
                result[f"{label}_{suite}_llm_decodes"] = decoder.stats["calls"]
                result[f"{label}_{suite}_llm_turns_ms_p50"] = percentile(asked, 50, 1)
                decoder.stats.clear()
                targets[f"{label}_single_ms_p50"] = LLM_TARGET_MS
                targets[f"{label}_single_llm_turns_ms_p50"] = LLM_TARGET_MS  # the turns that asked it
    if "words" in readers:
        result["reader_products_ms_p50"] = result["reader_single_ms_p50"]
    result["targets"] = targets
    result["meets_targets"] = {k: result[k] <= v for k, v in targets.items()}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
