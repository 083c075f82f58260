"""deploy/migrate.py — the command of the compose one-shots and the Kubernetes Jobs — on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import asyncpg
from code_facts import ROOT

from shared.db import plain_url
from shared.migrate import head_revisions, with_database
from tests.support import drop_database

SCRIPT = ROOT / "deploy" / "migrate.py"


async def run_script(*args: str, env: dict[str, str]) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        *args,
        env={**clean, **env},
        cwd="/",  # as in the image: nothing relies on the working directory
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode()


async def test_two_concurrent_runs_migrate_an_empty_database_once_to_head(server_url: str) -> None:
    name = f"eh_test_deploy_migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(plain_url(with_database(server_url, "postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = with_database(server_url, name)
    try:
        env = {"CASES_DATABASE_URL": url}
        results = await asyncio.gather(run_script("cases", env=env), run_script("cases", env=env))
        for code, output in results:
            assert code == 0, output
            assert "migrate: cases at head" in output
        conn = await asyncpg.connect(plain_url(url))
        try:
            versions = {r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version")}
        finally:
            await conn.close()
        assert versions == head_revisions(Path(ROOT / "services" / "cases"))
    finally:
        await drop_database(server_url, name)


async def test_missing_database_url_fails_with_the_variable_named() -> None:
    code, output = await run_script("outcomes", env={})
    assert code != 0
    assert "OUTCOMES_DATABASE_URL is not set" in output


async def test_the_url_is_read_from_the_file_in_the_secrets_directory(server_url: str, tmp_path: Path) -> None:
    """As the Kubernetes Job runs it: no variable, the Secret mounted as a file named like it."""
    name = f"eh_test_deploy_migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(plain_url(with_database(server_url, "postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        (tmp_path / "OUTCOMES_DATABASE_URL").write_text(with_database(server_url, name) + "\n")
        code, output = await run_script("outcomes", env={"EARLYHELP_SECRETS_DIR": str(tmp_path)})
        assert code == 0, output
        assert "migrate: outcomes at head" in output
    finally:
        await drop_database(server_url, name)
