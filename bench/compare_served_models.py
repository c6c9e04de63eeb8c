"""Compare text models on the explanation measures through one path: each GGUF is served by
``llama_cpp.server`` and the assistant talks to it as ``MLLM_BACKEND=openai`` (so a model the
project has no LoRA or projector for is measured the same way as the shipped export).

    python bench/compare_served_models.py \
        --model smollm2=~/.cache/shopassist/gguf/smollm2-<hash>.gguf \
        --model gemma3=gemma-3-270m-q4_k_m.gguf:gemma \
        --conversations 30 --json bench/results/compare_served_models.json

``NAME=PATH[:CHAT_FORMAT]``; the chat format is llama_cpp.server's ``--chat_format`` (the
GGUF's own template when left out). The first ``--conversations`` hand-written ``dev``
requests; the wording measures of ``shopassist eval conversations`` before and after the checks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters.offline import apply_offline_defaults  # noqa: E402

apply_offline_defaults()

from assistant.eval_understanding import load_requests  # noqa: E402
from assistant.eval_wording import request_turns, run_wording  # noqa: E402
from assistant.services import load_assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from retrieval.catalog import read_catalog  # noqa: E402


def serve(path: Path, chat_format: str | None, port: int, threads: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--n_threads", str(threads),
           "--n_threads_batch", str(threads), "--n_ctx", "2048", "--host", "127.0.0.1", "--port", str(port)]
    if chat_format:
        cmd += ["--chat_format", chat_format]
    server = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(180):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited for {path}; see {log}") from None
            time.sleep(1)
    server.kill()
    raise RuntimeError(f"llama_cpp.server did not answer within 180 s for {path}; see {log}")


def measure(name: str, spec: str, conversations, by_id, port: int, threads: int, log_dir: Path) -> dict:
    path, _, chat_format = spec.partition(":")
    path = Path(path).expanduser()
    if not path.is_file():
        raise SystemExit(f"--model {name}: no file {path}")
    server = serve(path, chat_format or None, port, threads, log_dir / f"server_{name}.log")
    try:
        shop = load_assistant(Settings(mllm_backend="openai", mllm_server_url=f"http://127.0.0.1:{port}"),
                              llm=True, generator=False)
        start = time.monotonic()
        w = run_wording(shop, conversations, by_id, samples=10)
    finally:
        server.terminate()
        server.wait(30)
    figures = {k: v for k, v in w.items() if isinstance(v, (int, float))}
    return {"gguf": str(path), "chat_format": chat_format or "the GGUF's", **figures,
            "seconds": round(time.monotonic() - start, 1), "samples": w["samples"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="NAME=PATH[:CHAT_FORMAT] (repeat)")
    ap.add_argument("--conversations", type=int, default=30, help="the first N dev requests")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=8093)
    ap.add_argument("--json", default="bench/results/compare_served_models.json")
    args = ap.parse_args(argv)
    settings = Settings()
    by_id = read_catalog(settings.catalog).by_id()
    conversations = request_turns(load_requests("dev"))[: args.conversations]
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"conversations": len(conversations), "split": "dev", "models": {}}
    logs = Path(tempfile.mkdtemp(prefix="served-models-"))
    print(f"server logs in {logs}")
    for spec in args.model:
        name, _, rest = spec.partition("=")
        if not rest:
            raise SystemExit(f"--model takes NAME=PATH[:CHAT_FORMAT], got {spec!r}")
        report["models"][name] = r = measure(name, rest, conversations, by_id, args.port, args.threads, logs)
        print(f"{name}: contradicted {r['contradicted_before']:.3f}, unsupported {r['unsupported_before']:.3f}, "
              f"agreement {r['agreement_before']:.3f}, distinguishing {r['distinguishing_before']:.3f}, "
              f"all differ {r['replies_all_different_before']:.3f} (before the checks); "
              f"{r['cards_by_llm']}/{r['cards']} cards keep the model's sentence; reply p50 {r['full_s_p50']:.2f} s")
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
