"""``shopassist eval <suite>``: evaluation commands, each printing figures and writing JSON."""

from __future__ import annotations

import json
from pathlib import Path

EVAL_REGISTRARS: list[str] = ["assistant.cli.mllm_cmds:register_eval"]  # "module:function" entries adding suites


def cmd_eval_retrieval(args) -> int:
    from assistant.services import build_search, ingest_catalog
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog
    from retrieval.evaluation import evaluate, plot_results

    settings = Settings(**{k: v for k, v in {"store_dir": args.store, "catalog": args.catalog}.items() if v})
    catalog = read_catalog(settings.catalog)
    report = ingest_catalog(settings, catalog, progress=True)  # no-op when the store is current
    if report.added:
        print(f"store updated first: {report.summary()}")
    service = build_search(settings)
    result = evaluate(catalog.products, service.search.search, service.load_image, n=args.queries, seed=args.seed)
    result["store"] = settings.store_config().describe()
    result["encoders"] = service.encoder.fingerprint.describe()
    print(f"retrieval eval on {catalog.path} ({result['test_products']} held-out products, "
          f"{args.queries} queries per suite)")
    print(f"  {'suite':24s} {'P@10':>6s} {'Hit@10':>7s} {'p50 ms':>7s} {'p95 ms':>7s}")
    for name, s in result["suites"].items():
        cells = [_fmt(s["P@10"], 6, 3), _fmt(s["Hit@10"], 7, 3), _fmt(s["latency_ms_p50"], 7, 1),
                 _fmt(s["latency_ms_p95"], 7, 1)]
        print(f"  {name:24s} {' '.join(cells)}   ({s['queries']} queries)")
    for key, value in result["headline"].items():
        flag = "ok" if result["meets_targets"][key] else "BELOW TARGET"
        print(f"  {key:16s} {_fmt(value, 5, 3)}  (target >= {result['targets'][key]})  {flag}")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        plot_results(result, out.with_suffix(".png"))
        print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


def _fmt(value, width: int, digits: int) -> str:
    return f"{value:{width}.{digits}f}" if value is not None else "n/a".rjust(width)


def register(sub) -> None:
    import importlib

    p = sub.add_parser("eval", help="evaluation suites (figures printed and written to JSON)")
    suites = p.add_subparsers(dest="suite", required=True)
    r = suites.add_parser("retrieval", help="text, image and composed search on the held-out split")
    r.add_argument("--catalog", help="catalog CSV/JSONL (default: the sample catalog)")
    r.add_argument("--store", default=".store", help="store to evaluate (ingested from the catalog first)")
    r.add_argument("--queries", type=int, default=300, help="queries per suite")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--json", help="write the figures here (and a PNG chart beside it)")
    r.set_defaults(func=cmd_eval_retrieval)
    for entry in EVAL_REGISTRARS:
        module, fn = entry.split(":")
        getattr(importlib.import_module(module), fn)(suites)
