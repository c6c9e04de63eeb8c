"""Subcommands: ingest, search (one query or a batch), demo, train-alignment."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _settings(args, **extra):
    from assistant.settings import Settings

    values = {k: v for k, v in {"store_dir": getattr(args, "store", None), **extra}.items() if v is not None}
    return Settings(**values)


def cmd_ingest(args) -> int:
    from assistant.services import ingest_catalog
    from retrieval.catalog import read_catalog

    catalog = read_catalog(args.catalog)
    report = ingest_catalog(_settings(args), catalog, rebuild=args.rebuild, prune=args.prune,
                            batch_size=args.batch_size, progress=not args.quiet,
                            rebuild_on_mismatch=args.rebuild_on_mismatch, bulk=args.bulk,
                            write_rows=args.write_rows)
    for issue in report.issues:
        print(f"{args.catalog}: {issue}", file=sys.stderr)
    print(f"ingest {args.catalog} -> {args.store}: {report.summary()}")
    return 0


def _hit_json(hit) -> dict:
    p = hit.product
    return {"id": p.id, "title": p.title, "score": hit.score, "price": p.price, "base_colour": p.base_colour,
            "article_type": p.article_type, "gender": p.gender, "usage": p.usage, "image": p.image,
            "signals": list(hit.signals)}


def _print_hits(hits, header: str) -> None:
    print(header)
    if not hits:
        print("  (no products match)")
    for rank, hit in enumerate(hits, 1):
        p = hit.product
        price = f"${p.price:.2f}*" if p.price is not None else "no price"
        print(f"  {rank:2d}. [{p.id}] {p.title} | {p.base_colour}, {p.article_type}, {p.gender} | {price}"
              f" | score {hit.score:.3f}")


def cmd_search(args) -> int:
    from assistant.services import build_search

    service = build_search(_settings(args))
    if args.batch:
        return _search_batch(service, Path(args.batch), args.k)
    if not args.text and not args.image:
        raise ValueError("give --text, --image, or both (or --batch QUERIES.jsonl)")
    image = service.load_image(args.image) if args.image else None
    result = service.search.run(text=args.text, image=image, k=args.k, strategy=args.strategy)
    if args.json:
        print(json.dumps([_hit_json(h) for h in result.hits], indent=2))
    else:
        _print_hits(result.hits, f"filters: {result.filter.describe()}"
                    + (f"; read off the image: {result.inferred}" if result.inferred else ""))
        print("  * prices in the sample catalog are synthetic")
    return 0


def _search_batch(service, path: Path, k: int) -> int:
    """One JSON list of hits per input line, in order; a bad line prints {"error": ...}."""
    if not path.is_file():
        raise FileNotFoundError(f"queries file {path} does not exist")
    failures = 0
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                query = json.loads(line)
                if not isinstance(query, dict):
                    raise ValueError("a line must be a JSON object like {\"text\": ..., \"image\": ...}")
                image = None
                if query.get("image"):
                    image = service.load_image(path.parent / str(query["image"]))
                hits = service.search.search(text=query.get("text"), image=image, k=int(query.get("k", k)))
                print(json.dumps([_hit_json(h) for h in hits]), flush=True)
            except (ValueError, TypeError) as exc:  # QueryError, ImageError, JSON errors are ValueErrors
                failures += 1
                print(json.dumps({"error": f"{path}:{line_no}: {exc}"}), flush=True)
    return 1 if failures else 0


DEMO_QUERIES = [
    {"text": "red dresses for women under 40"},
    {"text": "black casual shoes for men"},
    {"text": "a navy blue watch"},
    {"image_of": "first Tshirts", "text": None},
    {"image_of": "first Tshirts", "text": "like this but in red"},
]


def cmd_demo(args) -> int:
    """A short tour of search on the embedded default (what `make run` shows)."""
    from assistant.services import build_search

    settings = _settings(args)
    service = build_search(settings)
    print(f"store: {settings.store_config().describe()} with {service.store.count()} products; "
          f"encoders: {service.encoder.fingerprint.describe()}\n")
    ref = next(p for p in service.store.get(service.store.all_ids()[:400]) if p.article_type == "Tshirts" and p.image)
    for q in DEMO_QUERIES:
        image = service.load_image(ref.image) if q.get("image_of") else None
        label = " + ".join(x for x in (f"image of [{ref.id}] {ref.title}" if image else "", q["text"] or "") if x)
        result = service.search.run(text=q["text"], image=image, k=5, exclude_ids=(ref.id,) if image else ())
        _print_hits(result.hits, f"> {label}\n  filters: {result.filter.describe()}")
        print()
    print("* prices in the sample catalog are synthetic. Try: shopassist search --store "
          f"{settings.store_dir} --text '...' [--image PATH]")
    return 0


def cmd_train_alignment(args) -> int:
    from finetune.train_alignment import run_from_args

    run_from_args(args)  # writes runs/<name>/ (or --out); --install copies it into adapters/weights/alignment
    return 0


def cmd_train_tower(args) -> int:
    from finetune.train_tower import run_from_args

    run_from_args(args)  # writes runs/<name>/ (or --out); --install copies it into adapters/weights/tower
    return 0


def register(sub) -> None:
    p = sub.add_parser("ingest", help="build or update a product store from a catalog (CSV or JSONL)")
    p.add_argument("catalog", help="catalog file with id,title,image columns (+ optional metadata)")
    p.add_argument("--store", default=".store", help="store folder (default .store)")
    p.add_argument("--rebuild", action="store_true", help="drop the store's collections first")
    p.add_argument("--rebuild-on-mismatch", action="store_true",
                   help="if other encoders or another adaptor built the store, rebuild it instead of refusing")
    p.add_argument("--prune", action="store_true", help="remove products no longer in the catalog")
    p.add_argument("--batch-size", type=int, default=128, help="products encoded at a time")
    p.add_argument("--write-rows", type=int, default=1024, help="products written to the store at a time (at least)")
    p.add_argument("--bulk", choices=("auto", "on", "off"), default="auto",
                   help="encoder speed-ups: bf16 text where the CPU has it, a compiled image backbone "
                        "from 40,000 products (auto); always (on); never (off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="search the store by text, image, or both")
    p.add_argument("--store", default=".store")
    p.add_argument("--text")
    p.add_argument("--image", help="path of a query image")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.add_argument("--batch", help="JSONL file of queries {\"text\":..., \"image\":...}; prints one JSON list per line")
    p.add_argument("--strategy", choices=["filtered", "sum", "image_only", "text_only"],
                   help="composed-query strategy (default: filtered)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("demo", help="a few example searches on the store")
    p.add_argument("--store", default=".store")
    p.set_defaults(func=cmd_demo)

    from finetune.cli_args import add_run_args, add_tower_args  # argparse only

    p = sub.add_parser("train-alignment", help="train the image-text alignment adaptor on a catalog (into runs/)")
    p.add_argument("--config", help="JSON run config (default finetune/configs/alignment_default.json)")
    add_run_args(p, "train-alignment", "adapters/weights/alignment")
    p.add_argument("--catalog")
    p.add_argument("--epochs", type=int)
    p.add_argument("--limit", type=int, help="use only the first N products")
    p.add_argument("--device", help="auto, cpu or cuda")
    p.set_defaults(func=cmd_train_alignment)

    p = sub.add_parser("train-tower", help="fine-tune the image tower's later blocks on catalog attributes (into runs/)")
    add_tower_args(p)
    p.set_defaults(func=cmd_train_tower)
