"""Intake's CPU per referral in process: the referrals app through ASGI (httpx's ASGITransport, its lifespan run) on
a fresh migrated database, school referrals posted 8 at a time, and this process's CPU and the PostgreSQL backends'
CPU (/proc) per referral. The matching worker idles (cases unreachable, an hour between polls) and the relay is off,
so what is left is one request's path: middleware, routing, validation, the intake rules and the insert statement.

A steadier figure than CPU per request under wrk on a shared machine (no load generator, no idle background work
spread over few requests); it includes the in-process client's own CPU. To compare two checkouts, run it with each
on PYTHONPATH in turn (the same interpreter), alternating:

    TEST_DATABASE_URL=... .venv/bin/python bench/_intake_inprocess.py [--requests 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from earlyhelp.platform import SERVICES  # noqa: E402
from shared.db import plain_url  # noqa: E402
from shared.migrate import with_database  # noqa: E402
from tests.support import drop_database, make_token, migrated_database, pg_server_url  # noqa: E402
from tests.support.apps import app_client  # noqa: E402
from tests.support.factories import school_payload  # noqa: E402

DEAD = "http://127.0.0.1:9"


async def backend_pids(server: str, database: str) -> list[int]:
    conn = await asyncpg.connect(plain_url(with_database(server, "postgres")))
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
        return [int(r["pid"]) for r in rows]
    finally:
        await conn.close()


def cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def main_async(args: argparse.Namespace) -> None:
    from referrals.app import create_app
    from referrals.config import Settings

    server = pg_server_url()
    name = f"eh_inproc_referrals_{uuid.uuid4().hex[:6]}"
    part = next(p for p in SERVICES if p.name == "referrals")
    assert part.service_dir is not None
    url = await migrated_database(server, name, part.service_dir)
    if args.plan_cache_mode:  # for an A/B of PostgreSQL's planning: the app's connections start with it
        conn = await asyncpg.connect(plain_url(with_database(server, "postgres")))
        try:
            await conn.execute(f'ALTER DATABASE "{name}" SET plan_cache_mode = {args.plan_cache_mode}')
        finally:
            await conn.close()
    token = make_token("partner_system", agency="SCH-INPROC", agency_type="school", ttl_seconds=7200)
    overrides = {"cases_url": DEAD, "outcomes_url": DEAD, "match_retry_interval": 3600, "log_level": "WARNING",
                 "rate_limit_per_second": 1e9, "rate_limit_burst": 10**9}  # fmt: skip
    try:
        apps: list[Any] = []

        def make_app(settings: Any) -> Any:
            apps.append(create_app(settings))
            return apps[-1]

        async with app_client(make_app, Settings, url, **overrides) as client:

            async def one() -> None:
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
                response = await client.post("/v1/referrals/school", json=school_payload(), headers=headers)
                assert response.status_code == 201, response.text

            async def batch(n: int) -> None:
                for _ in range(0, n, 8):
                    await asyncio.gather(*(one() for _ in range(8)))

            await batch(80)  # warm: statements prepared, token verified and cached, catalogue fallback in place
            pids = await backend_pids(server, name)
            me = [os.getpid()]
            ours: list[float] = []
            pg: list[float] = []
            for _ in range(args.rounds):
                c0, p0, t0 = cpu(me), cpu(pids), time.perf_counter()
                await batch(args.requests)
                ours.append(1000 * (cpu(me) - c0) / args.requests)
                pg.append(1000 * (cpu(pids) - p0) / args.requests)
                rate = args.requests / (time.perf_counter() - t0)
                print(f"  process CPU {ours[-1]:.2f} ms/referral, PostgreSQL {pg[-1]:.2f} ms/referral, {rate:.0f}/s"
                      f"  [load average {os.getloadavg()[0]:.1f}]", file=sys.__stdout__)  # fmt: skip
            await _print_plans(apps[0].state.sessionmaker)
            print(f"median: process CPU {statistics.median(ours):.2f} ms, PostgreSQL {statistics.median(pg):.2f} ms "
                  f"per referral ({args.rounds} rounds of {args.requests})", file=sys.__stdout__)  # fmt: skip
    finally:
        await drop_database(server, name)


async def _print_plans(sessionmaker: Any) -> None:
    """How PostgreSQL planned the prepared statements on one pooled connection: generic (planned once) or custom
    (planned at every execution), the most executed first."""
    from sqlalchemy import text

    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT generic_plans, custom_plans, left(regexp_replace(statement, '\\s+', ' ', 'g'), 70) "
                "FROM pg_prepared_statements ORDER BY generic_plans + custom_plans DESC LIMIT 4"
            )
        )
        for generic, custom, statement in rows:
            print(f"  plans: generic {generic}, custom {custom}: {statement}", file=sys.__stdout__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plan-cache-mode", choices=["auto", "force_generic_plan", "force_custom_plan"])
    args = parser.parse_args()
    args.requests -= args.requests % 8
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (the app's JSON log lines)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
