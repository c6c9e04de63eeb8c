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

    # the store holds the queries' own photos: each picture is read, never recognised as its product
    settings = Settings(**{k: v for k, v in {"store_dir": args.store, "catalog": args.catalog}.items() if v},
                        recognise_pictures=False)
    catalog = read_catalog(settings.catalog)
    report = ingest_catalog(settings, catalog, progress=True)  # no-op when the store is current
    if report.added:
        print(f"store updated first: {report.summary()}")
    service = build_search(settings)
    result = evaluate(catalog.products, service.search.search, service.load_image, n=args.queries, seed=args.seed,
                      split=args.split)
    result["store"] = settings.store_config().describe()
    result["encoders"] = service.encoder.fingerprint.describe()
    print(f"retrieval eval on {catalog.path} ({result['test_products']} {args.split} products, "
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
        _write(result, args.json, plot_results)
    return 0


def cmd_eval_conversations(args) -> int:
    from assistant.evaluation import (TARGETS, kinds_of, make_conversations, plot_conversation_eval,
                                      run_clarification, run_conversations, run_explanations)
    from assistant.services import load_assistant
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog

    settings = Settings(**{k: v for k, v in {"store_dir": args.store, "catalog": args.catalog}.items() if v})
    catalog = read_catalog(settings.catalog)
    convs = make_conversations(catalog.products, n=args.conversations, seed=args.seed)
    facts = load_assistant(settings, llm=False, generator=False)
    vocab_colours = facts.search_engine.parser.vocab.colours
    result = {"conversations": run_conversations(facts, convs, vocab_colours, catalog=catalog.products),
              "turn_kinds": kinds_of(convs),
              "clarification": run_clarification(facts), "store": settings.store_config().describe(),
              "encoders": facts.status.get("encoders")}
    if args.llm_conversations:
        llm = load_assistant(settings, llm=True, generator=False)
        result["explanations"] = run_explanations(llm, convs[: args.llm_conversations])
        result["llm"] = llm.status.get("llm")
    if args.wording_split != "none":  # issue 14: the wording of what the shopper reads, held-out requests
        result["wording"] = _wording(settings, catalog, args)
    conv, expl = result["conversations"], result.get("explanations", {})
    result["headline"] = {"constraint_accuracy": conv["constraint_accuracy"], "precision_at_5": conv["precision_at_5"],
                          **({"false_claim_rate_before": expl["false_claim_rate_before"],
                              "false_claim_rate_after": expl["false_claim_rate_after"],
                              "mentions_request_rate": expl["mentions_request_rate"],
                              "mentions_request_rate_llm_alone": expl["mentions_request_rate_llm_alone"]} if expl else {})}
    result["targets"] = {k: v for k, v in TARGETS.items() if k in result["headline"]}
    result["meets_targets"] = {k: (result["headline"][k] <= v if k.startswith("false") else result["headline"][k] >= v)
                               for k, v in result["targets"].items()}
    print(f"conversation eval: {conv['conversations']} scripted conversations, {conv['turns']} turns "
          f"({conv['relaxed_turns']} relaxed, {conv['clarification_turns']} clarifying)")
    for key, value in result["headline"].items():
        target = result["targets"].get(key)
        flag = "" if target is None else ("ok" if result["meets_targets"][key] else "BELOW TARGET")
        print(f"  {key:34s} {value:6.3f}  {'' if target is None else f'(target {target})'} {flag}")
    c = result["clarification"]
    print(f"  clarifying question asked: {c['ambiguous_asked']:.2f} of ambiguous requests, "
          f"{c['specific_asked']:.2f} of specific ones")
    if expl:
        print(f"  turn latency (LLM on): products p50 {expl['products_s_p50']:.2f} s, full reply p50 "
              f"{expl['full_s_p50']:.2f} s / p95 {expl['full_s_p95']:.2f} s")
    if args.json:
        _write(result, args.json, plot_conversation_eval)
    return 0


def _wording(settings, catalog, args) -> dict:
    from assistant.eval_understanding import load_requests
    from assistant.eval_wording import WORDING_TARGETS, request_turns, run_wording, samples_markdown
    from assistant.services import load_assistant

    shop = load_assistant(settings, llm=args.llm_conversations > 0, generator=False)
    w = run_wording(shop, request_turns(load_requests(args.wording_split)), catalog.by_id())
    print(f"  wording of explanations ({args.wording_split} requests, {w['replies']} replies, {w['cards']} cards):")
    for key, target in WORDING_TARGETS.items():
        before = w.get(key.replace("_after", "_before"))
        ok = w.get(key, 0) <= target if not key.startswith(("replies", "distinguishing")) else w.get(key, 0) >= target
        print(f"    {key:30s} {w.get(key, 0):6.3f} (before the checks {before if before is None else round(before, 3)})"
              f"  target {target} {'ok' if ok else 'NOT MET'}")
    for f in w["shown_failures"]:
        print(f"    shown and flagged ({', '.join(f['flags'])}): {f['request']!r} -> {f['title']}: {f['shown']}")
    if args.samples:
        Path(args.samples).parent.mkdir(parents=True, exist_ok=True)
        Path(args.samples).write_text(samples_markdown(w["samples"]) + "\n")
        print(f"wrote {args.samples}")
    return w


def cmd_eval_injection(args) -> int:
    import tempfile

    from assistant.injection import helpfulness, message_attacks, poisoned_catalog, summary, title_attacks
    from assistant.services import ingest_catalog, load_assistant
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog

    settings = Settings(**{k: v for k, v in {"store_dir": args.store, "catalog": args.catalog}.items() if v})
    shop = load_assistant(settings, generator=True)
    results, helped = message_attacks(shop), helpfulness(shop)
    with tempfile.TemporaryDirectory(prefix="shopassist-injection-") as tmp:
        csv_path, poisoned = poisoned_catalog(Path(settings.catalog), Path(tmp) / "catalog")
        poisoned_settings = Settings(catalog=csv_path, store_dir=Path(tmp) / "store", collection="poisoned")
        ingest_catalog(poisoned_settings, read_catalog(csv_path), progress=True)
        results += title_attacks(load_assistant(poisoned_settings, generator=True), poisoned)
    result = summary(results)
    result["target_changed_share"] = 0.0
    result["helpfulness"] = helped
    print(f"prompt injection: {result['attacks']} attacks "
          f"({result['by_kind']['message']['attacks']} in messages, {result['by_kind']['title']['attacks']} in titles), "
          f"{result['changed_behaviour']} changed behaviour (share {result['changed_share']:.3f}, target 0)")
    print(f"  attacks written after the defence: {sum(k['heldout_attacks'] for k in result['by_kind'].values())}, "
          f"{sum(k['heldout_changed'] for k in result['by_kind'].values())} changed behaviour")
    print(f"  helpfulness: {helped['helped']} of {helped['requests']} genuine requests worded like attacks answered "
          f"with products of the asked type (target all)")
    for ex in result["examples_changed"]:
        print(f"  CHANGED [{ex['where']}] {ex['request'][:70]!r}: {ex['why']}")
    if args.json:
        _write(result, args.json)
    return 0


def cmd_eval_understanding(args) -> int:
    from assistant.eval_understanding import evaluate, load_requests, read_requests
    from assistant.eval_understanding_report import format_report
    from assistant.services import load_parts
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog

    settings = Settings(**{k: v for k, v in {"store_dir": args.store, "catalog": args.catalog}.items() if v})
    catalog = read_catalog(settings.catalog)
    requests = read_requests(args.requests) if args.requests else load_requests(args.split)
    source = args.requests or f"the {args.split} split"
    parts = load_parts(settings, llm=False, generator=False)  # facts-only explanations: fast
    result = evaluate(parts, catalog.products, requests, limit=args.limit)
    result.update(split=args.split if not args.requests else None, requests=args.requests,
                  store=settings.store_config().describe(), encoders=parts.status.get("encoders"))
    print(f"understanding eval on {source} of the hand-written requests "
          f"({', '.join(f'{len(v)} {k}' for k, v in requests.items())})")
    print(format_report(result))
    if args.json:
        _write(result, args.json)
    return 0


def cmd_eval_readers(args) -> int:
    from assistant.eval_readers import evaluate_readers, format_readers
    from assistant.eval_understanding import load_requests
    from assistant.llm_reader import LLMReaderConfig, UpdateDecoder
    from assistant.services import load_parts, mllm_runner
    from assistant.settings import Settings
    from retrieval.catalog import read_catalog

    given = {"store_dir": args.store, "catalog": args.catalog, "reader_adapter": args.adapter}
    settings = Settings(**{k: v for k, v in given.items() if v}, request_reader="words")
    catalog = read_catalog(settings.catalog)
    parts = load_parts(settings, llm=False, generator=False)  # facts-only explanations: fast
    runner = mllm_runner(settings.reader_mllm_config())
    decoder = UpdateDecoder(runner, parts.search.parser.vocab, LLMReaderConfig().max_new_tokens)
    result = evaluate_readers(parts, catalog.products, load_requests(args.split), decoder, limit=args.limit)
    result.update(split=args.split, adapter=settings.reader_mllm_config().adapter_path, backend=runner.backend)
    print(f"request readers on the {args.split} split of the hand-written requests")
    print(format_readers(result))
    if args.json:
        _write(result, args.json)
    return 0


def cmd_eval_generation(args) -> int:
    from assistant.eval_generation import GenerationEvalConfig, evaluate, format_report
    from assistant.services import build_search
    from assistant.settings import Settings

    cfg = GenerationEvalConfig(split=args.split, limit=args.limit, steps=args.steps, guidance=args.guidance,
                               projector=args.projector, search_requests=args.search_requests, grids=not args.no_grids,
                               **({"pipeline": args.pipeline} if args.pipeline else {}))
    # the real photos (the ceiling) are read as pictures, never recognised as their products
    service = build_search(Settings(**({"store_dir": args.store} if args.store else {}), recognise_pictures=False))
    out = Path(args.json)
    report = evaluate(cfg, service.search, out.parent)
    print(format_report(report))
    _write(report, str(out))
    if cfg.grids:
        print(f"grids: {out.parent / 'generation_samples.png'}, {out.parent / f'generation_{cfg.split}_examples.png'}")
    return 0


def _write(result: dict, path: str, plot=None) -> None:
    """The figures as JSON at ``path`` (and ``plot(result, PNG beside it)`` when given)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if plot is not None:
        plot(result, out.with_suffix(".png"))
    print(f"wrote {out}" + (f" and {out.with_suffix('.png')}" if plot is not None else ""))


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
    r.add_argument("--split", choices=("val", "test"), default="test",
                   help="products the queries are drawn from: val to tune on, test (held out) to report")
    r.add_argument("--json", help="write the figures here (and a PNG chart beside it)")
    r.set_defaults(func=cmd_eval_retrieval)
    c = suites.add_parser("conversations", help="scripted multi-turn conversations: constraints, precision, explanations")
    c.add_argument("--catalog", help="catalog the conversations are drawn from (default: the sample catalog)")
    c.add_argument("--store", default=".store", help="store built from that catalog")
    c.add_argument("--conversations", type=int, default=200)
    c.add_argument("--llm-conversations", type=int, default=30,
                   help="how many of them also run the LLM for explanation faithfulness (0: none)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", help="write the figures here (and a PNG chart beside it)")
    c.add_argument("--wording-split", choices=("test", "dev", "none"), default="test",
                   help="hand-written requests the wording of explanations is measured on (none: skip)")
    c.add_argument("--samples", default="bench/results/explanation_samples.md",
                   help="write 30 sampled replies here for a person to read ('' : do not)")
    c.set_defaults(func=cmd_eval_conversations)
    i = suites.add_parser("injection", help="prompt-injection suite: attacks in messages and in product titles")
    i.add_argument("--catalog", help="catalog the poisoned products are copied from (default: the sample catalog)")
    i.add_argument("--store", default=".store", help="store for the message attacks")
    i.add_argument("--json", help="write the figures here")
    i.set_defaults(func=cmd_eval_injection)
    u = suites.add_parser("understanding", help="hand-written shopper requests: single, composed, conversations")
    u.add_argument("--split", choices=("dev", "test"), default="dev", help="dev (val products) or test (held out)")
    u.add_argument("--requests", help="a requests file of your own (bench/understanding/README.md's format) "
                                       "instead of a split")
    u.add_argument("--catalog", help="catalog the relevance is computed over (default: the sample catalog)")
    u.add_argument("--store", default=".store", help="store built from that catalog")
    u.add_argument("--limit", type=int, help="only the first N requests of each suite (a quick look)")
    u.add_argument("--json", help="write the figures here")
    u.set_defaults(func=cmd_eval_understanding)
    _register_readers(suites)
    g = suites.add_parser("generation", help="the embedded generator: attribute fidelity, realism, imagine-then-search, speed")
    g.add_argument("--split", choices=("val", "test"), default="test")
    g.add_argument("--limit", type=int, help="only the first N products of the split")
    g.add_argument("--steps", type=int, default=20)
    g.add_argument("--guidance", type=float, default=4.0)
    g.add_argument("--pipeline", help="diffusers folder (default: the shipped adapters/weights/diffusion/pipeline)")
    g.add_argument("--store", help="store for imagine-then-search (default: .store)")
    g.add_argument("--projector", help="an output projector folder (the shipped one: adapters/weights/output_projector): "
                   "also draw every request through SmolLM2's states and the projector")
    g.add_argument("--search-requests", type=int, default=200, help="imagine-then-search requests (0: skip)")
    g.add_argument("--no-grids", action="store_true", help="skip the speed run and the picture grids")
    g.add_argument("--json", default="bench/results/generation_eval.json")
    g.set_defaults(func=cmd_eval_generation)
    for entry in EVAL_REGISTRARS:
        module, fn = entry.split(":")
        getattr(importlib.import_module(module), fn)(suites)


def _register_readers(suites) -> None:
    d = suites.add_parser("readers", help="the request readers side by side on the hand-written requests: "
                                          "words, the LLM, both")
    d.add_argument("--split", choices=("dev", "test"), default="dev", help="dev (val products) or test (held out)")
    d.add_argument("--catalog", help="catalog the relevance is computed over (default: the sample catalog)")
    d.add_argument("--store", default=".store", help="store built from that catalog")
    d.add_argument("--adapter", help="the reader's adaptor folder (default: the shipped adapters/weights/reader)")
    d.add_argument("--limit", type=int, help="only the first N requests of each suite (a quick look)")
    d.add_argument("--json", help="write the figures here")
    d.set_defaults(func=cmd_eval_readers)
