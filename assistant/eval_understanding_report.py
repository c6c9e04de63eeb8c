"""The understanding evaluation's printed table (``shopassist eval understanding``)."""

from __future__ import annotations

def _cell(d: dict, metric: str, hit_key: str | None) -> str:
    p = d.get(metric)
    if p is None:
        return "n/a"
    hit = d.get(hit_key) if hit_key else None
    return f"{p:.3f}" if hit is None else f"{p:.3f} ({hit:.2f})"


def _row(label: str, cells: list[str]) -> str:
    return f"  {label:22s}" + "".join(f" {c:>22s}" for c in cells)


def format_report(result: dict) -> str:
    """The figures as text tables: one column per system, rows overall and per kind."""
    lines = []
    for suite, k in (("single", 10), ("composed", 10), ("conversation", 5)):
        if suite not in result:
            continue
        metric, hit_key = f"P@{k}", (None if suite == "conversation" else f"Hit@{k}")
        systems = result[suite]["systems"]
        names = list(systems)
        first = systems[names[0]]
        unit = "turns" if suite == "conversation" else "requests"
        lines.append(f"\n{suite} ({first['requests']} {unit}): {metric} per system"
                     + (f" ({hit_key} in brackets)" if hit_key else ""))
        lines.append(_row("kind", names))
        lines.append(_row("ALL", [_cell(systems[n], metric, hit_key) for n in names]))
        if suite == "single":
            lines.append(_row("all but plain", [_cell({"x": systems[n]["other_kinds"]}, "x", None) for n in names]))
        for kind, d in first["by_kind"].items():
            lines.append(_row(f"{kind} (n={d['n']})", [_cell(systems[n]["by_kind"][kind], metric, hit_key)
                                                       for n in names]))
        if suite == "conversation":
            last = result[suite]["last_turn"]
            lines.append(_row("after the last turn", [_cell(last[n], metric, None) for n in names]))
        lines.append(_row("clarifying questions", [str(systems[n]["clarifying_questions"]) for n in names]))
        lines.append(_row("errors", [str(systems[n]["errors"]) for n in names]))
        lines.append(_row("p50 ms", [f"{systems[n]['latency_ms_p50'] or 0:.0f}" for n in names]))
        same = result[suite].get("identical_lists")
        if same:
            lines.append("  identical result lists: "
                         + ", ".join(f"{pair} {n}/{first['requests']}" for pair, n in same.items()))
    lines.append("")
    for key, value in result.get("headline", {}).items():
        target = result.get("targets", {}).get(key)
        flag = "" if target is None else ("ok" if result["meets_targets"][key] else "BELOW TARGET")
        shown = f"{value:6.3f}" if value is not None else "   n/a"
        lines.append(f"  {key:28s} {shown}  " + (f"(target >= {target})  {flag}" if target is not None else
                                                 "(each photo read from the picture, as one from elsewhere)"))
    lines.append(f"  ran in {result.get('seconds', 0):.0f} s")
    return "\n".join(lines)
