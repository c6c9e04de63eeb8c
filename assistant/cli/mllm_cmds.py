"""Subcommands of the multimodal LLM: describe, train-projector, train-lora; and
``register_eval(eval_sub)`` adding ``eval describe`` under the shared ``eval`` group."""

from __future__ import annotations

import sys


def _mllm_config(args, **extra):
    from adapters.mllm.config import DEFAULT_MLLM_ADAPTER_DIR, MLLMConfig

    adapter = None if getattr(args, "untrained", False) else (args.adapter or DEFAULT_MLLM_ADAPTER_DIR)
    return MLLMConfig(base=args.base, adapter_path=adapter, device=args.device,
                      backend=getattr(args, "backend", "auto"), **extra)


def _add_model_args(p) -> None:
    p.add_argument("--base", default="embedded", help="'embedded' (default) or a local llava-hf checkpoint folder")
    p.add_argument("--adapter", default=None, help="adaptor folder (default: the trained one shipped in adapters/weights/mllm)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--backend", default="auto", choices=["auto", "transformers", "llama.cpp"],
                   help="text decoding: llama.cpp (default when installed, embedded model on CPU) or transformers")


def cmd_describe(args) -> int:
    from adapters.imaging import load_image
    from adapters.loading.mllm import load_runner
    from adapters.mllm.runner import ChatMessage

    image = load_image(args.image)  # fail fast, before the model loads
    runner = load_runner(_mllm_config(args, max_new_tokens=args.max_new_tokens, seed=args.seed))
    messages = [ChatMessage("user", args.question, image=image)]
    if args.no_stream:
        print(runner.generate(messages, temperature=args.temperature))
        return 0
    for piece in runner.stream(messages, temperature=args.temperature):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def cmd_train_projector(args) -> int:
    from finetune.train_projector import run_from_args

    return run_from_args(args)


def cmd_train_lora(args) -> int:
    if args.task == "request":  # stage 2's second task: the request reader's own adaptor
        from finetune.train_reader import run_request_from_args

        return run_request_from_args(args)
    from finetune.train_lora import run_from_args

    return run_from_args(args)


def cmd_eval_describe(args) -> int:
    from finetune.eval_describe import run_cli

    return run_cli(args)


def register(sub) -> None:
    p = sub.add_parser("describe", help="describe a product image with the multimodal LLM")
    p.add_argument("image", help="image file (any format PIL reads)")
    p.add_argument("--question", default="Describe this product.")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy (deterministic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-stream", action="store_true", help="print the answer at the end instead of streaming")
    p.add_argument("--untrained", action="store_true", help="no trained adaptors (for comparison)")
    _add_model_args(p)
    p.set_defaults(func=cmd_describe)

    from finetune.cli_args import add_stage_args  # argparse only

    p = sub.add_parser("train-projector", help="stage 1: train the projector (tower and LLM frozen), into runs/")
    add_stage_args(p, "projector_default.json")
    p.set_defaults(func=cmd_train_projector)
    p = sub.add_parser("train-lora", help="stage 2: LoRA on the LLM attention + the projector, into runs/")
    add_stage_args(p, "lora_default.json", stage2=True)
    p.set_defaults(func=cmd_train_lora)


def register_eval(eval_sub) -> None:
    """Adds ``describe`` to the ``eval`` subcommand group created by the caller."""
    from finetune.eval_describe import add_eval_args  # argparse + stdlib only

    p = eval_sub.add_parser("describe", help="held-out describe test: names the true colour / article type?")
    add_eval_args(p)
    p.set_defaults(func=cmd_eval_describe)
