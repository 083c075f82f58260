"""A failed statement's log line never carries its bound values (issue 19, finding I): every engine the project
creates sets `hide_parameters=True`, so a traceback names the SQL but not the NHS number or name it was run with."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-9434765919"


async def test_a_database_error_logs_no_bound_parameters(
    fresh_referrals_db: str, build_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = build_app(fresh_referrals_db)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as client,
    ):
        assert (await client.get("/echo-into-db", params={"value": SECRET})).status_code == 200
        again = await client.get("/echo-into-db", params={"value": SECRET})  # the same primary key: it fails
    assert again.status_code == 500
    assert SECRET not in again.text
    # (PostgreSQL's own DETAIL of a unique violation names the duplicate key: that is the database's message,
    # not the bound parameters this is about, so the assertions look for SQLAlchemy's parameter list.)
    logged = capsys.readouterr().out
    assert "unhandled_error" in logged  # the failure was logged, with its traceback and SQL...
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged
    assert "[parameters:" not in logged  # ...but not the values it was bound to


def test_every_engine_the_project_creates_hides_parameters() -> None:
    """Outside the tests: the services' Database, migrations, the CLI (demo, SAR, audit) and the benchmarks."""
    factories = {"create_async_engine", "async_engine_from_config", "create_engine"}
    missing, seen = [], 0
    for folder in ("shared", "services", "earlyhelp", "gateway", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in factories:
                    continue
                seen += 1
                hidden = any(
                    k.arg == "hide_parameters" and isinstance(k.value, ast.Constant) and k.value.value is True
                    for k in node.keywords
                )
                if not hidden:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert seen >= 5
    assert missing == []
