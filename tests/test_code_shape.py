"""Small files, short functions: no module of the six packages over 400 lines, and no function
(methods and nested functions included) over 60 lines outside the tests."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "adapters", "retrieval", "ui", "finetune", "tests")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _files(packages=PACKAGES):
    return [p for package in packages for p in sorted((REPO / package).rglob("*.py"))]


def long_modules() -> list[str]:
    return [f"{p.relative_to(REPO)}: {n} lines" for p in _files()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]


def long_functions() -> list[str]:
    bad = []
    for path in _files(tuple(p for p in PACKAGES if p != "tests")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    bad.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines")
    return bad


def test_no_module_over_400_lines():
    bad = long_modules()
    assert not bad, f"modules over {MAX_MODULE_LINES} lines (split by concern):\n" + "\n".join(bad)


def test_no_function_over_60_lines():
    bad = long_functions()
    assert not bad, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(bad)
