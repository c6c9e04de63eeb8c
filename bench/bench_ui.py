"""The chat page, measured in a real headless browser: from page load to the first rendered
answer, with the embedded default models over the local store.

`shopassist ui` is started on a free 127.0.0.1 port; Debian's Chromium (selenium) opens the
page, types a query and waits for the first product card whose picture has loaded, then for
the finished answer (the cards with their buttons, drawn once the LLM's text and checked
explanations are done). The first visit to a fresh server, made as soon as the server answers
and the browser is up, includes what is left of loading the models (``cold``; the server starts
loading them when it starts, so ``from_launch_*`` also gives the times from running
`shopassist ui`); later visits (a new page, a new session) reuse them (``warm``).

    python bench/bench_ui.py [--store .store] [--json bench/results/bench_ui.json]

Needs the store (`shopassist ingest retrieval/sample_catalog/products.csv --store .store`),
chromium + chromium-driver (Debian) and selenium.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.mllm.config import DEFAULT_CACHE_DIR  # noqa: E402
from ui import headless  # noqa: E402

# Each names an article type, so the assistant answers with products rather than a question.
QUERIES = ("black casual shoes for women under 50", "red tshirts for men", "blue jeans for women",
           "watches for men under 80")


def visit(driver, url: str, query: str, timeout_s: float) -> dict:
    """One page load -> query -> first card -> finished answer, in seconds from the load."""
    t0 = time.perf_counter()
    driver.get(url)
    headless.chat_box(driver, timeout_s)
    ready = time.perf_counter() - t0
    headless.ask(driver, query, timeout_s)
    sent = time.perf_counter() - t0
    headless.wait_until(lambda: headless.loaded_card_images(driver) > 0, timeout_s, f"a product card for {query!r}")
    first_card = time.perf_counter() - t0
    headless.wait_until(lambda: headless.final_cards(driver) > 0, timeout_s, f"the finished answer to {query!r}")
    done = time.perf_counter() - t0
    cards = driver.execute_script("return document.querySelectorAll(arguments[0]).length;", headless.CARD_CSS)
    return {"query": query, "page_ready_s": round(ready, 3), "first_card_s": round(first_card, 3),
            "first_card_after_send_s": round(first_card - sent, 3), "answer_done_s": round(done, 3),
            "answer_done_after_send_s": round(done - sent, 3), "cards": cards}


def peak_rss_mb(pid: int) -> dict[str, int]:
    """Peak resident memory (VmHWM) of ``pid`` and each of its descendants, in MB (Linux /proc)."""
    out: dict[str, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            name = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80]
            hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
            out[f"{p} {name.strip()}"] = hwm // 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default=".store", help="the product store (default .store)")
    p.add_argument("--warm", type=int, default=3, help="warm visits after the cold one")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per step")
    p.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_ui.json"))
    p.add_argument("--screenshot", default=str(REPO / "bench" / "results" / "bench_ui.png"))
    args = p.parse_args(argv)

    found = headless.find_browser()
    if isinstance(found, str):
        print(f"bench_ui: cannot run: {found}", file=sys.stderr)
        return 2
    store = (REPO / args.store).resolve() if not Path(args.store).is_absolute() else Path(args.store)
    if not (store / "chroma.sqlite3").is_file():
        print(f"bench_ui: no store at {store}: build it with `shopassist ingest retrieval/sample_catalog/products.csv "
              f"--store {args.store}`", file=sys.stderr)
        return 2

    env = {"SHOPASSIST_STORE_DIR": str(store)}  # the embedded default
    gguf = sorted(Path(os.path.expanduser(DEFAULT_CACHE_DIR), "gguf").glob("*.gguf"))
    load_before = os.getloadavg()  # other work on the machine moves every figure here
    t_start = time.perf_counter()
    with headless.AppServer(env=env, cwd=REPO, ready_timeout_s=120) as server:
        server_ready = time.perf_counter() - t_start
        driver = headless.chromium()
        try:
            visit_at = time.perf_counter() - t_start  # the server is up and the browser started
            try:
                cold = visit(driver, server.url, QUERIES[0], args.timeout)
            except TimeoutError:  # say what the page and the server show instead
                page = driver.execute_script("return document.body.innerText")
                print(f"page:\n{page[:3000]}\nserver log:\n{server.log()}", file=sys.stderr)
                raise
            cold["server_peak_rss_mb"] = sum(peak_rss_mb(server.proc.pid).values())
            # from running `shopassist ui`: what someone who opens the page at once waits in all
            cold.update({f"from_launch_{k}": round(visit_at + cold[k], 3)
                         for k in ("page_ready_s", "first_card_s", "answer_done_s")})
            cold["launch_to_visit_s"] = round(visit_at, 3)
            print(f"cold: {cold}", flush=True)
            warm = []
            for i in range(args.warm):
                warm.append(visit(driver, server.url, QUERIES[(i + 1) % len(QUERIES)], args.timeout))
                print(f"warm: {warm[-1]}", flush=True)
            driver.set_window_size(1400, 2000)  # the whole last answer in one picture
            headless.wait_idle(driver, 60)
            driver.save_screenshot(args.screenshot)
        finally:
            driver.quit()
        log_tail = server.log()
        peaks = peak_rss_mb(server.proc.pid)

    def median(key: str) -> float | None:
        return round(statistics.median(v[key] for v in warm), 3) if warm else None

    browser = Path(found[0]).name
    result = {
        "what": "page load -> first product card (picture loaded) and -> finished answer, headless Chromium",
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores (models on CPU)",
        "browser": browser,
        "store": str(store.relative_to(REPO)) if store.is_relative_to(REPO) else str(store),
        "load_average_1_5_15_min": {"start": [round(x, 2) for x in load_before],
                                    "end": [round(x, 2) for x in os.getloadavg()]},
        "server_start_s": round(server_ready, 3),
        "gguf_export_cached_before_start": [g.name for g in gguf],
        "cold": cold,
        "server_peak_rss_mb": peaks,
        "target_cold_first_card_s": 10.0,
        "warm": warm,
        "warm_median": {k: median(k) for k in ("page_ready_s", "first_card_s", "first_card_after_send_s",
                                               "answer_done_s", "answer_done_after_send_s")},
        "screenshot": str(Path(args.screenshot).relative_to(REPO)) if Path(args.screenshot).is_relative_to(REPO)
        else args.screenshot,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(f"server up (`shopassist ui` printed its URL): {server_ready:.1f} s")
    print(f"cold visit (the models load from the server's start): page ready {cold['page_ready_s']:.1f} s, first card "
          f"{cold['first_card_s']:.1f} s, answer done {cold['answer_done_s']:.1f} s; from `shopassist ui`: first card "
          f"{cold['from_launch_first_card_s']:.1f} s (visit at {cold['launch_to_visit_s']:.1f} s)")
    print(f"peak RSS (MB): {peaks}")
    wm = result["warm_median"]
    if warm:
        print(f"warm visits, median of {len(warm)}: page ready {wm['page_ready_s']:.2f} s, first card "
              f"{wm['first_card_s']:.2f} s ({wm['first_card_after_send_s']:.2f} s after sending), answer done "
              f"{wm['answer_done_s']:.2f} s ({wm['answer_done_after_send_s']:.2f} s after sending)")
    print(f"wrote {args.json}")
    if "Traceback" in log_tail:
        print("server log had a traceback:\n" + log_tail, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
