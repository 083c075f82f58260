"""The CronJob's entry point (`python -m <service>.retention`) as a real process, and two runs at once on one
database (the CronJob and an admin call may meet): they take turns, both succeed, and the chain still verifies."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from earlyhelp.sar import _transaction
from shared.audit import record_access, verify_chain
from shared.migrate import with_database
from shared.retention.job import run_once

ROOT = Path(__file__).resolve().parents[2]
FAR = date(2070, 1, 1)


async def test_the_cronjob_entry_point_and_concurrent_runs(fresh_referrals_db: str, server_url: str) -> None:
    from referrals.models import platform, retention
    from referrals.retention.sources import retention_sources

    name = str(make_url(fresh_referrals_db).database)
    async with _transaction(server_url, name) as session:
        await record_access(session, platform, actor="w", action="read", record_type="referral", record_ids=range(4))

    env = {**os.environ, "REFERRALS_DATABASE_URL": with_database(server_url, name)}
    dry = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "referrals.retention", "--dry-run", "--as-of", FAR.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    lines = [json.loads(line) for line in dry.stdout.splitlines()]
    assert lines[-1] == {
        "event": "retention_run",
        "service": "referrals",
        "dry_run": True,
        "as_of": "2070-01-01",
        "items": 1,
    }
    assert lines[0]["record_type"] == "audit.log" and lines[0]["outcome"] == "would go"

    url = with_database(server_url, name)
    runs = [
        run_once(
            url,
            service="referrals",
            sources=retention_sources,
            tables=retention,
            platform=platform,
            as_of=FAR,
            dry_run=False,
            actor=f"run-{i}",
        )
        for i in range(2)
    ]
    reports = await asyncio.gather(*runs)
    # they took turns: the first pruned the four rows, the second (on a clock past the period of everything) the
    # first's own audit row of its run
    pruned = sorted(item.rows for r in reports for item in r.items if item.outcome == "pruned")
    assert pruned == [1, 4]
    async with _transaction(server_url, name) as session:
        assert (await verify_chain(session)).ok
        assert (await session.execute(text("SELECT count(*) FROM audit_checkpoints"))).scalar_one() == 2
