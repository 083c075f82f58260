"""`earlyhelp retention run` as a real process over the demo data (three databases cloned from the migrated
templates, seeded as `earlyhelp seed` does): the dry run prints a table of what would go and changes nothing; the
run erases it, and every service's audit chain still verifies after the pruning."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from earlyhelp.sar import _transaction
from shared.audit import verify_chain
from tests.conftest import template_name
from tests.security.test_subject_access import _seed
from tests.support import drop_database

SERVICES = ("referrals", "cases", "outcomes")
ROOT = Path(__file__).resolve().parents[2]
FAR = "2070-01-01"  # every demo record's period is over by then, and every access-log row's


@pytest.fixture(scope="module")
async def demo(server_url: str, referrals_db: str, cases_db: str, outcomes_db: str) -> AsyncIterator[str]:
    from tests.support.database import _admin

    prefix = f"ret_{uuid.uuid4().hex[:8]}_"
    conn = await _admin(server_url)
    try:
        for service in SERVICES:
            await conn.execute(f'CREATE DATABASE "{prefix}{service}" TEMPLATE "{template_name(service)}"')
    finally:
        await conn.close()
    try:
        await _seed(server_url, prefix)
        yield prefix
    finally:
        for service in SERVICES:
            await drop_database(server_url, f"{prefix}{service}")


def _cli(server_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "earlyhelp.cli",
            "retention",
            "run",
            "--database-prefix",
            prefix,
            "--actor",
            "dpo",
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": server_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _count(server_url: str, prefix: str, service: str, table: str) -> int:
    async with _transaction(server_url, f"{prefix}{service}") as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_dry_run_lists_the_demo_data_due_and_the_run_erases_it(server_url: str, demo: str) -> None:
    before = {
        s: await _count(server_url, demo, s, t)
        for s, t in (("referrals", "referrals"), ("cases", "families"), ("outcomes", "enrolments"))
    }
    dry = await asyncio.to_thread(_cli, server_url, demo, "--dry-run", "--as-of", FAR)
    assert dry.returncode == 0, dry.stderr
    assert f"Retention dry run as of {FAR}" in dry.stdout
    for word in ("record type", "due on", "why", "referrals.not_accepted", "cases.family", "audit.log", "would go"):
        assert word in dry.stdout, word
    after_dry = {
        s: await _count(server_url, demo, s, t)
        for s, t in (("referrals", "referrals"), ("cases", "families"), ("outcomes", "enrolments"))
    }
    assert after_dry == before

    listed = await asyncio.to_thread(_cli, server_url, demo, "--dry-run", "--as-of", FAR, "--json")
    reports = {r["service"]: r for r in json.loads(listed.stdout)}
    due_referrals = [i for i in reports["referrals"]["items"] if i["record_type"].startswith("referrals.")]
    assert due_referrals

    done = await asyncio.to_thread(_cli, server_url, demo, "--as-of", FAR)
    assert done.returncode == 0, done.stderr
    left = await _count(server_url, demo, "referrals", "referrals")
    assert left == before["referrals"] - len(due_referrals), (before, due_referrals, done.stdout)
    tombstones = "retention_tombstones WHERE record_type LIKE 'referrals.%'"
    assert await _count(server_url, demo, "referrals", tombstones) == len(due_referrals)
    for service in SERVICES:
        async with _transaction(server_url, f"{demo}{service}") as session:
            report = await verify_chain(session)
            assert report.ok, (service, report)
            checkpoints = (await session.execute(text("SELECT count(*) FROM audit_checkpoints"))).scalar_one()
            assert checkpoints == 1, service
