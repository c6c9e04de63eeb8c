"""Dependencies flow one way: ui -> assistant -> (retrieval, adapters); finetune -> (adapters, retrieval)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "adapters": {"retrieval", "assistant", "ui", "finetune", "langchain", "langchain_core", "streamlit"},
    "retrieval": {"adapters", "assistant", "ui", "finetune", "langchain", "langchain_core", "streamlit"},
    "assistant": {"ui", "streamlit"},
    "finetune": {"assistant", "ui", "streamlit"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_or_sideways_imports(package):
    bad = []
    for path in (REPO / package).rglob("*.py"):
        hits = _imports(path) & FORBIDDEN[package]
        if hits:
            bad.append(f"{path.relative_to(REPO)} imports {sorted(hits)}")
    assert not bad, "\n".join(bad)


def test_no_swallowed_imports():
    """No `try: import ... except: pass` that hides real errors (LLaVA issue #1101 style)."""
    for package in FORBIDDEN:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Try) and any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body):
                    assert not any(isinstance(h.body[0], ast.Pass) for h in node.handlers), path
