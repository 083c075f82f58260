"""Benchmark: the first evaluation of 100,000 enrolled families vs the raw SQL aggregation of the same rules
(target: at most 1.5x).

The raw figure runs, for every need of the framework, the rule's aggregation query bare on one connection (no
result storage, no run bookkeeping) made to produce every column that is stored (verdict, reason, evidence
list) — the same rules, the reference of the target; the issue's first form of it, the rule's query counted,
is printed too (the planner may then skip the reason and the evidence, with the joins that build them). The
service figure is `POST /v1/evaluations` for the whole cohort in a real process, its cohort split over
OUTCOMES_EVALUATION_SHARDS connections (2 by default), writing every result (the stored ones are removed
before each round). Rounds alternate raw and service on the same data (`BENCH_ROUNDS`, 3 by default); each
round gives a ratio and the target takes their median. The last round also times the same date again
(nothing written) and the next day (results whose reason names a date move), and the first evaluation is
timed once more on one connection.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import load_average, target
from outcomes_common import fresh_outcomes_database, seed_cohort

from outcomes.evaluation.repository import EvaluationRepository
from outcomes.evaluation.service import rule_for
from outcomes.frameworks.schemas import FrameworkDefinition
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
AS_OF = "2025-09-01"
HEADERS = auth(make_token("analyst", agency="LCC"))
COUNTED = "SELECT count(*), count(*) FILTER (WHERE met) FROM ({rule}) q"
COMPLETE = (
    "SELECT count(*), count(*) FILTER (WHERE met), sum(length(reason)), sum(cardinality(evidence_ids)) FROM ({rule}) q"
)


async def raw_aggregation(conn: AsyncConnection, definition: FrameworkDefinition) -> dict[str, float]:
    """Every need's rule as a bare query, in both shapes, on one connection: seconds per shape."""
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
    # The service's work_mem for a cohort. The raw queries share one text per rule kind, so custom plans keep
    # them from a generic plan (the service's statement has its own text: see `_plan_tag`).
    await conn.execute(text("SET work_mem = '256MB'"))
    await conn.execute(text("SET plan_cache_mode = force_custom_plan"))
    times = {}
    for label, shape in (("counted", COUNTED), ("complete", COMPLETE)):
        started = time.perf_counter()
        for need in definition.needs:
            rule = rule_for(need)
            sql = shape.format(rule=repo.rule_select_sql(rule))
            await conn.execute(text(sql), {**params_common, "need": need.code, **rule.params})
        times[label] = time.perf_counter() - started
    return times


async def clear_results(url: str) -> None:
    """Remove every stored result, so that the next evaluation writes them all (a first evaluation)."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("DELETE FROM need_results")
        await conn.execute("VACUUM need_results")
    finally:
        await conn.close()


@asynccontextmanager
async def service(url: str, shards: int) -> AsyncIterator[httpx.AsyncClient]:
    """A service process whose cohort evaluations use `shards` connections, and a client for it."""
    procs = ServiceProcesses()
    port = free_port()
    # imports and evaluations have their own, longer limit (OUTCOMES_BULK_REQUEST_TIMEOUT_SECONDS)
    env = common_test_env("OUTCOMES", url, port) | {
        "OUTCOMES_RELAY_ENABLED": "false",
        "OUTCOMES_EVALUATION_SHARDS": str(shards),
    }
    procs.add("outcomes", "outcomes.app:create_app", env, Path(os.environ.get("BENCH_LOG_DIR", "/tmp/eh-bench")),
              port=port)  # fmt: skip
    await procs.start()
    try:
        async with httpx.AsyncClient(base_url=procs["outcomes"].url, timeout=900) as client:
            yield client
    finally:
        procs.stop()


async def evaluate(client: httpx.AsyncClient, as_of: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await client.post("/v1/evaluations", json={"as_of": as_of}, headers=HEADERS)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


def counts(body: dict[str, Any]) -> str:
    return (f"families={body['families']:,} results={body['results']:,} met={body['met']:,} "
            f"written={body['changed']:,}")  # fmt: skip


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
        async with engine.connect() as conn:
            await raw_aggregation(conn, definition)  # warm the caches once, as each round's raw run is
        shards = int(os.environ.get("OUTCOMES_EVALUATION_SHARDS", "2"))
        ratios, ratios_counted = [], []
        next_day = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
        async with service(url, shards) as client:
            for n in range(1, ROUNDS + 1):
                await clear_results(url)
                async with engine.connect() as conn:
                    raw = await raw_aggregation(conn, definition)
                first, body = await evaluate(client, AS_OF)
                ratios.append(first / raw["complete"])
                ratios_counted.append(first / raw["counted"])
                print(f"round {n}: raw SQL complete {raw['complete']:.2f}s (counted {raw['counted']:.2f}s); "
                      f"first evaluation {first:.2f}s = {ratios[-1]:.2f}x ({ratios_counted[-1]:.2f}x of counted) "
                      f"{counts(body)} [{load_average()}]", flush=True)  # fmt: skip
            for label, as_of in (("re-evaluation, nothing changed", AS_OF), ("next day", next_day)):
                elapsed, body = await evaluate(client, as_of)
                print(f"{label}: {elapsed:.2f}s = {elapsed / raw['complete']:.2f}x of the last round's raw SQL "
                      f"{counts(body)} [{load_average()}]", flush=True)  # fmt: skip
        await clear_results(url)
        async with engine.connect() as conn:
            raw = await raw_aggregation(conn, definition)
        async with service(url, 1) as client:
            one, body = await evaluate(client, AS_OF)
        await engine.dispose()
        print(f"first evaluation on one connection (OUTCOMES_EVALUATION_SHARDS=1): {one:.2f}s = "
              f"{one / raw['complete']:.2f}x of raw SQL complete {raw['complete']:.2f}s {counts(body)} "
              f"[{load_average()}]")  # fmt: skip
        ratio = statistics.median(ratios)
        print(f"first evaluation / raw SQL, per round: {', '.join(f'{r:.2f}x' for r in ratios)}; median {ratio:.2f}x "
              f"(of the counted query: median {statistics.median(ratios_counted):.2f}x); {shards} shards")  # fmt: skip
        target("cohort first evaluation / raw SQL of the same rules", f"{ratio:.2f}x (median of {ROUNDS} rounds)",
               "<= 1.5x", ratio <= 1.5)  # fmt: skip
    finally:
        await drop_database(pg_server_url(), name)


if __name__ == "__main__":
    asyncio.run(main())
