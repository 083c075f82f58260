"""Benchmark: evaluating 100,000 enrolled families vs the raw SQL aggregation alone (target: at most 2x).

The raw figure runs, for every need of the framework, the rule's aggregation query bare (no result storage,
no run bookkeeping); the service figure is `POST /v1/evaluations` for the whole cohort in a real process,
which stores every per-need result with its evidence ids.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outcomes_common import fresh_outcomes_database, seed_cohort

from outcomes.repository import OutcomesRepository
from outcomes.service import load_builtin_frameworks, parse_definition, rule_for
from shared.db import async_url
from shared.testing import ServiceProcesses, auth, common_test_env, drop_database, make_token, pg_server_url

FAMILIES = int(os.environ.get("BENCH_FAMILIES", "100000"))
AS_OF = "2025-09-01"


async def main() -> None:
    name = "eh_bench_outcomes_eval"
    url = await fresh_outcomes_database(name)
    try:
        t0 = time.perf_counter()
        await seed_cohort(url, FAMILIES, observations=True)
        engine = create_async_engine(async_url(url))
        async with engine.begin() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=conn) as session:
                await load_builtin_frameworks(session)
                await session.commit()
        print(f"seeded {FAMILIES:,} families with observations in {time.perf_counter() - t0:.1f}s")

        async with engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT definition FROM frameworks WHERE code = 'supporting-families-2022'"))
            ).one()
            definition = parse_definition(row.definition)
            repo = OutcomesRepository(None)  # type: ignore[arg-type]
            params_common = {
                "phase": "2022-2025",
                "framework": definition.code,
                "framework_version": "1",
                "family_id": None,
                "as_of": __import__("datetime").date.fromisoformat(AS_OF),
            }
            await conn.execute(text("SET work_mem = '64MB'"))  # the same setting the service uses
            raw_times = []
            for _ in range(2):
                started = time.perf_counter()
                for need in definition.needs:
                    rule = rule_for(need)
                    sql = f"SELECT count(*), count(*) FILTER (WHERE met) FROM ({repo.rule_select_sql(rule)}) q"
                    await conn.execute(text(sql), {**params_common, "need": need.code, **rule.params})
                raw_times.append(time.perf_counter() - started)
        await engine.dispose()
        raw = min(raw_times)

        procs = ServiceProcesses()
        log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/eh-bench"))
        port = __import__("shared.testing", fromlist=["free_port"]).free_port()
        env = common_test_env("OUTCOMES", url, port) | {"OUTCOMES_RELAY_ENABLED": "false"}
        procs.add("outcomes", "outcomes.app:create_app", env, log_dir, port=port)
        await procs.start()
        try:
            headers = auth(make_token("analyst", agency="LCC"))
            service_times = []
            async with httpx.AsyncClient(base_url=procs["outcomes"].url, timeout=600) as client:
                for _ in range(2):
                    started = time.perf_counter()
                    response = await client.post("/v1/evaluations", json={"as_of": AS_OF}, headers=headers)
                    service_times.append(time.perf_counter() - started)
                    response.raise_for_status()
                    body = response.json()
        finally:
            procs.stop()
        service = min(service_times)
        print(f"raw SQL aggregation (10 needs):   {raw:8.2f}s")
        print(
            f"POST /v1/evaluations (stored):    {service:8.2f}s  families={body['families']:,} "
            f"results={body['results']:,} met={body['met']:,}"
        )
        print(f"ratio service/raw: {service / raw:.2f}x (target <= 2.0x)")
    finally:
        await drop_database(pg_server_url(), name)


if __name__ == "__main__":
    asyncio.run(main())
