"""Subcommands: generate (try_on / in_room / imagine, optionally then search), train-output-projector.

Backends: ``--checkpoint DIR`` (a local diffusers folder; default from the environment variable
SHOPASSIST_DIFFUSION_CHECKPOINT), ``--remote URL`` (SHOPASSIST_IMAGE_GENERATOR_URL),
``--tiny-pipeline`` (random-init, noise pictures: checks the diffusers path), else the offline
compositor. Every run prints which backend made the image.
"""

from __future__ import annotations

import json
import os
import sys


def _box(text: str) -> tuple[int, int, int, int]:
    import argparse

    try:
        parts = tuple(int(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"--box {text!r} must be four integers x0,y0,x1,y1")
    return parts


def _product(args):
    from adapters.output import ProductRef

    if args.product_id:
        from retrieval.catalog import SAMPLE_CATALOG, read_catalog

        catalog = read_catalog(args.catalog or SAMPLE_CATALOG)
        from assistant.imagine import product_ref

        p = catalog.by_id().get(args.product_id)
        if p is None:
            raise ValueError(f"product {args.product_id!r} is not in {catalog.path}")
        return product_ref(p)
    if args.product_image:
        name = os.path.splitext(os.path.basename(args.product_image))[0]
        return ProductRef(name, args.title or name, article_type=args.article_type, image_path=args.product_image)
    return None


def cmd_generate(args) -> int:
    from adapters.generation.base import GenerationError
    from adapters.generation.factory import make_generator
    from adapters.output import build_request
    from assistant.cli import UserError

    product = _product(args)
    text = args.prompt or ""
    if args.width is None or args.height is None:  # keep the photo's shape (diffusers resizes to this size)
        from adapters.imaging import load_image
        from adapters.output.request import size_for_photo

        size = size_for_photo(load_image(args.photo, name=f"photo {args.photo}").size) if args.photo else (512, 512)
        args.width, args.height = args.width or size[0], args.height or size[1]
    if args.mode == "imagine" and not text and product is None:
        raise ValueError("imagine needs --prompt \"a description\" (or --product-id to vary a product)")
    request = build_request(text or (f"imagine {product.title}" if args.mode == "imagine" else ""), product,
                            args.photo, mode=args.mode, mask=args.mask, box=args.box, seed=args.seed,
                            width=args.width, height=args.height, num_inference_steps=args.steps,
                            guidance_scale=args.guidance)
    if args.projector:
        from assistant.imagine import projected_embeds

        request = projected_embeds(request, args.projector, text or request.prompt)
    generator = make_generator(args.checkpoint, args.remote, device=args.device, tiny=args.tiny_pipeline,
                               progress=not args.quiet)
    if request.mode == "imagine" and not args.photo and getattr(generator, "catalog_only", False):
        refusal = _not_a_product(args, request)
        if refusal:
            print(refusal)
            return 1
    try:
        if args.search:
            return _imagine_and_search(args, request, generator)
        result = generator.generate(request)
    except GenerationError as exc:
        raise UserError(str(exc)) from None
    print(f"backend: {result.backend}")
    print(f"label: {result.label}")
    if result.image is None:
        print("no image written (add --search K to find real products matching the description)" if request.mode == "imagine" and not args.search else "no image written")
        return 1
    path = result.save(args.out)
    print(f"saved {path} ({result.image.width}x{result.image.height}, seed {result.seed}, {result.elapsed_s:.2f} s)")
    if args.json:
        print(json.dumps({"backend": result.backend, "label": result.label, "out": str(path),
                          "elapsed_s": result.elapsed_s, "request": request.to_dict()}))
    return 0


def _not_a_product(args, request) -> str | None:
    """The embedded catalog model's refusal of a description that names no catalog product kind."""
    from adapters.output.adaptor import description_from_prompt
    from assistant.imagine import cannot_draw, names_a_kind
    from retrieval.catalog import SAMPLE_CATALOG, read_catalog
    from retrieval.reader import RequestReader
    from retrieval.vocabulary import Vocabulary

    reader = RequestReader(Vocabulary.from_products(read_catalog(args.catalog or SAMPLE_CATALOG).products))
    words = description_from_prompt(request.prompt)
    return None if names_a_kind(reader, words) else cannot_draw(words)


def _imagine_and_search(args, request, generator) -> int:
    from assistant.cli.retrieval_cmds import _print_hits, _settings
    from assistant.imagine import imagine_then_search
    from assistant.services import build_search

    service = build_search(_settings(args))

    def search(text, image):
        return service.search.run(text=text, image=image, k=args.search).hits

    result = imagine_then_search(request, generator, search)
    if result.backend is not None:
        print(f"backend: {result.backend}")
    if result.image is not None and args.out:
        print(f"saved {result.generated.save(args.out)}")
    _print_hits(result.products, result.message)
    return 0


def cmd_train_output_projector(args) -> int:
    from finetune.train_output_projector import run_from_args

    run_from_args(args)  # writes runs/<name>/ (or --out); --install: adapters/weights/output_projector/
    return 0


def cmd_train_diffusion(args) -> int:
    from finetune.train_diffusion import run_from_args

    run_from_args(args)
    return 0


def register(sub) -> None:
    p = sub.add_parser("generate", help="see a product on you / in your room, or imagine an item (labelled images)")
    p.add_argument("--mode", choices=("try_on", "in_room", "imagine"), help="default: detected from --prompt")
    p.add_argument("--prompt", help="the shopper's words, e.g. \"imagine a green velvet sofa\"")
    p.add_argument("--product-id", help="a product from the catalog (its picture and attributes are used)")
    p.add_argument("--catalog", help="catalog for --product-id (default: the sample catalog)")
    p.add_argument("--product-image", help="or a product picture on a plain background")
    p.add_argument("--title", help="product title for --product-image")
    p.add_argument("--article-type", help="product kind for --product-image (placement hint, e.g. Tshirts, Shoes)")
    p.add_argument("--photo", help="your photo (try_on) or the room photo (in_room)")
    p.add_argument("--mask", help="white = where the product goes; must match the photo's size")
    p.add_argument("--box", type=_box, help="x0,y0,x1,y1 placement box in photo pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, help="default: 512 on the long side, in the photo's shape")
    p.add_argument("--height", type=int)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--guidance", type=float, default=7.5)
    p.add_argument("--checkpoint", default=os.environ.get("SHOPASSIST_DIFFUSION_CHECKPOINT"),
                   help="local diffusers pipeline folder (SD 1.x/2.x/XL/Turbo)")
    p.add_argument("--remote", default=os.environ.get("SHOPASSIST_IMAGE_GENERATOR_URL"),
                   help="http(s) URL of an image-generation server")
    p.add_argument("--tiny-pipeline", action="store_true", help="random-init test pipeline (noise; no weights)")
    p.add_argument("--projector", help="a trained output projector folder (the shipped one: adapters/weights/"
                   "output_projector): condition on SmolLM2's states through it instead of the prompt's encoding")
    p.add_argument("--device", default="auto")
    p.add_argument("--search", type=int, metavar="K", help="imagine, then search the store for the K closest products")
    p.add_argument("--store", help="store folder for --search")
    p.add_argument("--out", default="generated.png")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_generate)

    from finetune.cli_args import add_run_args  # argparse only

    t = sub.add_parser("train-output-projector", help="train the LLM -> diffusion prompt_embeds projector (into runs/)")
    t.add_argument("--config", help="JSON run config (default finetune/configs/output_projector_default.json)")
    t.add_argument("--pipeline", help="SD 1.x/2.x folder whose text encoder is the target (default: tiny random-init)")
    t.add_argument("--llm", choices=("smollm2", "tiny"))
    add_run_args(t, "train-output-projector", "adapters/weights/output_projector")
    t.add_argument("--catalog")
    t.add_argument("--limit", type=int, help="use only the first N products")
    t.add_argument("--epochs", type=int)
    t.add_argument("--device", help="auto, cpu or cuda")
    t.set_defaults(func=cmd_train_output_projector)

    d = sub.add_parser("train-diffusion", help="train the embedded latent diffusion generator on the catalog (into runs/)")
    d.add_argument("--config", help="JSON run config (default finetune/configs/diffusion_default.json)")
    d.add_argument("--quick", action="store_true", help="seconds-long smoke test (finetune/configs/diffusion_quick.json)")
    add_run_args(d, "train-diffusion", "adapters/weights/diffusion")
    d.add_argument("--catalog")
    d.add_argument("--limit", type=int, help="use only the first N train products")
    d.add_argument("--vae-steps", type=int)
    d.add_argument("--unet-steps", type=int)
    d.add_argument("--max-minutes", type=float, help="time budget of each stage")
    d.add_argument("--fresh", action="store_true", help="ignore checkpoints and caches in the run folder (no resume)")
    d.set_defaults(func=cmd_train_diffusion)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run: shopassist generate --help")
