"""Dependencies flow one way, and no project module depends on itself through others.

The table (a module may import the packages on its right, and its own package):

    ui          -> assistant
    assistant   -> retrieval, adapters
    retrieval   -> (nothing of the project)
    adapters    -> (nothing of the project)
    finetune    -> adapters, retrieval
    top layer   -> anything but tests

The top layer is the command line and the evaluation code (``TOP``): it drives everything
else and nothing imports it back, except other top-layer code. ``tests`` may import anything.
Every import counts, wherever it is written (inside a function, under ``TYPE_CHECKING``) and
``importlib.import_module("literal")`` too: an import hidden in a function is still a
dependency, and the cycle it closes still breaks when the function runs first.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "adapters", "retrieval", "ui", "finetune", "tests", "bench", "examples")
LIBRARY = ("assistant", "adapters", "retrieval", "ui", "finetune")

ALLOWED = {
    "ui": {"ui", "assistant"},
    "assistant": {"assistant", "retrieval", "adapters"},
    "retrieval": {"retrieval"},
    "adapters": {"adapters"},
    "finetune": {"finetune", "adapters", "retrieval"},
    "top": set(PACKAGES) - {"tests"},
    "tests": set(PACKAGES),
}
# The command line and the evaluation code: modules, or packages ending in "." (all below).
TOP = ("assistant.cli.", "assistant.__main__", "assistant.evaluation", "assistant.eval_wording", "assistant.eval_understanding",
       "assistant.eval_understanding_report", "assistant.eval_readers",
       "assistant.injection", "assistant.eval_generation",
       "finetune.eval_describe", "bench.", "examples.")
# Third-party packages a layer keeps out (LangChain stays at the assistant's edge).
FORBIDDEN_THIRD_PARTY = {
    "adapters": {"langchain", "langchain_core", "streamlit"},
    "retrieval": {"langchain", "langchain_core", "streamlit"},
    "assistant": {"streamlit"},
    "finetune": {"streamlit"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}


def layer(module: str) -> str:
    if any(module == t.rstrip(".") or (t.endswith(".") and module.startswith(t)) for t in TOP):
        return "top"
    return module.split(".")[0]


def imports_in(source: str, module: str, is_package: bool, known) -> set[str]:
    """Every name the code of ``module`` imports, anywhere in it; ``from X import Y`` names X.Y
    when that is one of the ``known`` modules, else X."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                origin = ".".join(package[: len(package) - node.level + 1] + ([origin] if origin else []))
            subs = {f"{origin}.{a.name}" for a in node.names} & set(known)
            found |= subs if len(subs) == len(node.names) else subs | {origin}
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
              in ("import_module", "__import__")):
            found.add(node.args[0].value)
    return found


@cache
def imports_of(module: str) -> frozenset[str]:
    path = _modules()[module]
    return frozenset(imports_in(path.read_text(), module, path.name == "__init__.py", _modules()))


def _project_target(name: str) -> str | None:
    """The project module an imported name runs: itself, or the nearest package above it.
    ``tests`` is not a package: its modules are also imported by their bare names (``helpers``)."""
    known = _modules()
    if f"tests.{name.split('.')[0]}" in known and (REPO / "tests" / f"{name.split('.')[0]}.py").exists():
        name = f"tests.{name}"
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def layering_violations() -> list[str]:
    bad = []
    for module in _modules():
        own = layer(module)
        for name in sorted(imports_of(module)):
            target = _project_target(name)
            if target is None:
                if name.split(".")[0] in FORBIDDEN_THIRD_PARTY.get(own, ()):
                    bad.append(f"{module} ({own}) imports {name}")
            elif layer(target) == "top" and own not in ("top", "tests"):
                bad.append(f"{module} ({own}) imports {name} (top layer)")
            elif layer(target) != "top" and target.split(".")[0] not in ALLOWED[own]:
                bad.append(f"{module} ({own}) imports {name}")
    return bad


def test_the_layer_table():
    bad = layering_violations()
    assert not bad, "imports against the layer table:\n" + "\n".join(bad)


def import_cycles() -> list[list[str]]:
    """Strongly connected components of the project's module graph with more than one module
    (or a module importing itself), each as one cycle through it, shortest first."""
    graph = {m: sorted({t for n in imports_of(m) if (t := _project_target(n))}) for m in _modules()}
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                components.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return [_a_cycle(sorted(c), graph) for c in components]


def _a_cycle(component: list[str], graph: dict[str, list[str]]) -> list[str]:
    """The shortest path from the component's first module back to itself (breadth first)."""
    start, inside = component[0], set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in graph[v]:
                if w == start:
                    return paths[v] + [start]
                if w in inside and w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return component


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module, expected", [
    ("ui.app", "ui"), ("assistant.core", "assistant"), ("assistant.cli", "top"),
    ("assistant.cli.eval_cmds", "top"), ("assistant.evaluation", "top"), ("bench.bench_ui", "top"),
    ("finetune.eval_describe", "top"), ("finetune.trainer", "finetune"), ("tests.helpers", "tests"),
])
def test_layer_of_a_module(module, expected):
    assert layer(module) == expected


def test_what_counts_as_an_import():
    known = {"pkg", "pkg.sub", "pkg.sub.leaf", "pkg.other"}
    source = """
import pkg.other
from pkg.sub import leaf
from pkg.sub import SomeClass, leaf as leaf2
from . import other
from .leaf import thing
def later():
    from torch import nn
    importlib.import_module("pkg.late")
"""
    found = imports_in(source, "pkg.sub.mod", False, known)
    assert found == {"pkg.other", "pkg.sub.leaf", "pkg.sub", "torch", "pkg.late"}
    assert imports_in("from .. import other", "pkg.sub", True, known) == {"pkg.other"}
    assert _project_target("retrieval.filters.ProductFilter") == "retrieval.filters"
    assert _project_target("torch.nn") is None
    assert _project_target("helpers") == "tests.helpers"


def test_no_swallowed_imports():
    """No `try: import ... except: pass` that hides real errors (LLaVA issue #1101 style)."""
    for package in LIBRARY:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Try) and any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body):
                    assert not any(isinstance(h.body[0], ast.Pass) for h in node.handlers), path
