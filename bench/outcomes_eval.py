"""Benchmark: evaluating 100,000 enrolled families vs the raw SQL aggregation alone (target: at most 2x).

The raw figure runs, for every need of the framework, the rule's aggregation query bare (no result storage,
no run bookkeeping), counted as in the issue; a second raw figure makes the same queries produce every column
that is stored (reason, evidence list), which the count lets the planner skip. The service figures are
`POST /v1/evaluations` for the whole cohort in a real process, its cohort split over OUTCOMES_EVALUATION_SHARDS
connections (2 by default; the first evaluation is timed on one connection too). It stores each per-need result
with its evidence ids when it is new or differs from the stored one: the first evaluation (every result
written), the same date again (nothing written) and the next day (results whose reason names a date move).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import target
from outcomes_common import fresh_outcomes_database, seed_cohort

from outcomes.evaluation.repository import EvaluationRepository
from outcomes.evaluation.service import rule_for
from outcomes.frameworks.service import load_builtin_frameworks, parse_definition
from shared.db import async_url, plain_url
from tests.support import (
    ServiceProcesses,
    auth,
    common_test_env,
    drop_database,
    free_port,
    make_token,
    pg_server_url,
)

FAMILIES = int(os.environ.get("BENCH_FAMILIES", "100000"))
AS_OF = "2025-09-01"


async def main() -> None:
    name = "eh_bench_outcomes_eval"
    url = await fresh_outcomes_database(name)
    try:
        t0 = time.perf_counter()
        await seed_cohort(url, FAMILIES, observations=True)
        engine = create_async_engine(async_url(url), hide_parameters=True)
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
            repo = EvaluationRepository(None)  # type: ignore[arg-type]
            params_common = {
                "phase": "2022-2025",
                "framework": definition.code,
                "framework_version": "1",
                "family_id": None,
                "as_of": date.fromisoformat(AS_OF),
                "shard_from": None,
                "shard_below": None,
            }
            # The service's work_mem for a cohort. The raw queries share one text per rule kind, so custom plans
            # keep them from a generic plan (the service's statement has its own text: see `_plan_tag`).
            await conn.execute(text("SET work_mem = '256MB'"))
            await conn.execute(text("SET plan_cache_mode = force_custom_plan"))
            # As the figure: the rule's query counted. The planner may drop what the count does not read
            # (the reason and the evidence list, with the joins that build them).
            counted = "SELECT count(*), count(*) FILTER (WHERE met) FROM ({rule}) q"
            # The same aggregation made to produce every column the evaluation stores (still nothing stored).
            complete = (
                "SELECT count(*), count(*) FILTER (WHERE met), sum(length(reason)), "
                "sum(cardinality(evidence_ids)) FROM ({rule}) q"
            )
            raw_best = {}
            for label, shape in (("counted", counted), ("complete", complete)):
                times = []
                for _ in range(2):
                    started = time.perf_counter()
                    for need in definition.needs:
                        rule = rule_for(need)
                        sql = shape.format(rule=repo.rule_select_sql(rule))
                        await conn.execute(text(sql), {**params_common, "need": need.code, **rule.params})
                    times.append(time.perf_counter() - started)
                raw_best[label] = min(times)
        await engine.dispose()
        raw = raw_best["counted"]
        raw_complete = raw_best["complete"]

        log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/eh-bench"))
        headers = auth(make_token("analyst", agency="LCC"))
        shards = int(os.environ.get("OUTCOMES_EVALUATION_SHARDS", "2"))

        async def evaluate(runs: list[tuple[str, str]], shards: int) -> list[tuple[str, float, dict[str, int]]]:
            """POST the runs in order to a service process whose cohort evaluations use `shards` connections."""
            procs = ServiceProcesses()
            port = free_port()
            # imports and evaluations have their own, longer limit (OUTCOMES_BULK_REQUEST_TIMEOUT_SECONDS)
            env = common_test_env("OUTCOMES", url, port) | {
                "OUTCOMES_RELAY_ENABLED": "false",
                "OUTCOMES_EVALUATION_SHARDS": str(shards),
            }
            procs.add("outcomes", "outcomes.app:create_app", env, log_dir, port=port)
            await procs.start()
            timings = []
            try:
                async with httpx.AsyncClient(base_url=procs["outcomes"].url, timeout=900) as client:
                    for label, as_of in runs:
                        started = time.perf_counter()
                        response = await client.post("/v1/evaluations", json={"as_of": as_of}, headers=headers)
                        elapsed = time.perf_counter() - started
                        response.raise_for_status()
                        timings.append((label, elapsed, response.json()))
            finally:
                procs.stop()
            return timings

        next_day = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
        # 1. every result is new; 2. the same date again, nothing changed (a re-run after a failed claim, or
        # after loading data that moved no verdict); 3. the next day: results whose reason names a date move.
        timings = await evaluate(
            [("first evaluation", AS_OF), ("re-evaluation", AS_OF), ("next day", next_day)], shards
        )
        # For reference, the first evaluation again on one connection (the results removed first).
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute("DELETE FROM need_results")
            await conn.execute("VACUUM need_results")
        finally:
            await conn.close()
        (one_connection,) = await evaluate([("first evaluation", AS_OF)], 1)
        print(f"raw SQL aggregation (10 needs), counted:            {raw:8.2f}s  (best of 2)")
        print(f"raw SQL aggregation, every stored column produced:  {raw_complete:8.2f}s  (best of 2)")
        for label, elapsed, body in timings:
            print(
                f"POST /v1/evaluations, {label + ':':17s} {elapsed:8.2f}s  {elapsed / raw:5.2f}x "
                f"({elapsed / raw_complete:.2f}x of complete)  families={body['families']:,} "
                f"results={body['results']:,} met={body['met']:,} written={body['changed']:,}"
            )
        print(
            f"first evaluation on one connection (OUTCOMES_EVALUATION_SHARDS=1): {one_connection[1]:.2f}s  "
            f"{one_connection[1] / raw:.2f}x; the figures above use {shards} (the default)"
        )
        print(
            f"ratio service/raw (counted): first {timings[0][1] / raw:.2f}x, unchanged {timings[1][1] / raw:.2f}x, "
            f"next day {timings[2][1] / raw:.2f}x (target <= 1.5x)"
        )
        first = timings[0][1] / raw
        target("cohort first evaluation / raw SQL", f"{first:.2f}x", "<= 1.5x", first <= 1.5)
        print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        await drop_database(pg_server_url(), name)


if __name__ == "__main__":
    asyncio.run(main())
