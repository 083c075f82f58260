"""The intelligence package stays readable: no module over 500 lines, no class over 300, no function over 80
(migrations are outside the package)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "services" / "outcomes" / "outcomes"
LIMITS = {"module": 500, "class": 300, "function": 80}


def _too_long() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE)
        if len(source.splitlines()) > LIMITS["module"]:
            found.append(f"{where}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            kind = "class" if isinstance(node, ast.ClassDef) else None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                kind = "function"
            if kind is not None:
                assert isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LIMITS[kind]:
                    found.append(f"{where}:{node.lineno} {kind} {node.name}: {length} lines")
    return found


def test_no_module_class_or_function_is_too_long() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 20  # the package was found
    assert _too_long() == []
