"""The code stays readable: no module over 500 lines, no class over 300, no function over 80.

Across every service, the gateway, `shared` and the `earlyhelp` tool. Migrations and demo-data seeders (long
literal data, read top to bottom) are outside the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [*sorted((ROOT / "services").glob("*/*/__init__.py")), ROOT / "gateway/gateway/__init__.py"]
PACKAGES += [ROOT / "shared/shared/__init__.py", ROOT / "earlyhelp/__init__.py"]
EXEMPT = {"seed.py"}
LIMITS = {"module": 500, "class": 300, "function": 80}


def _sources() -> list[Path]:
    return sorted(p for init in PACKAGES for p in init.parent.rglob("*.py") if p.name not in EXEMPT)


def _too_long(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT)
    found = []
    if len(source.splitlines()) > LIMITS["module"]:
        found.append(f"{where}: {len(source.splitlines())} lines")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > LIMITS[kind]:
                found.append(f"{where}:{node.lineno} {kind} {node.name}: {length} lines")
    return found


def test_every_package_was_found() -> None:
    assert len(PACKAGES) >= 6 and all(p.exists() for p in PACKAGES)
    assert len(_sources()) > 150


def test_no_module_class_or_function_is_too_long() -> None:
    assert [problem for path in _sources() for problem in _too_long(path)] == []
