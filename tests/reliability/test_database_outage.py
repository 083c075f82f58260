"""PostgreSQL cut under load: quick 503 problems (never a hang, never a 500), ready again soon after.

The services reach PostgreSQL only through a `TcpProxy` started by the test. Cutting it closes its listener
and aborts every open connection (what a stopped server or a failed-over address looks like to a client);
restoring it listens again on the same port. Clients keep submitting and accepting referrals throughout,
retrying with their idempotency keys, and nothing is lost or duplicated afterwards.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.harness import (
    REFERRAL_COUNT,
    Load,
    Stack,
    TcpProxy,
    check_delivery_invariants,
    database_map,
    outbox_settled,
    postgres_upstream,
    running_stack,
    through_proxy,
    wait_until,
)

pytestmark = pytest.mark.e2e
OUTAGE_SECONDS = float(os.environ.get("RELIABILITY_OUTAGE_SECONDS", "6"))
SOAK_OUTAGE_SECONDS = 20.0
READY_WITHIN_SECONDS = 10.0
QUICK_SECONDS = 5.5
"""A request during the outage must be answered within this: the engine's connect and pool timeouts are 5 s."""
FIGURES: dict[str, Any] = {}


async def readiness_after_restore(stack: Stack) -> float:
    """Seconds until every service process answers /readyz with 200."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as http:

        async def all_ready() -> bool:
            for process in stack.processes.processes.values():
                try:
                    if (await http.get(process.url + "/readyz")).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
            return True

        await wait_until(all_ready, timeout=READY_WITHIN_SECONDS + 20, what="services ready again", interval=0.1)
    return time.monotonic() - started


async def probe_readiness_during(
    stack: Stack, until: asyncio.Event, samples: list[tuple[int, float, str, float]]
) -> None:
    """/readyz of every process while the database is cut: 503 problem, quickly."""
    async with httpx.AsyncClient(timeout=15) as http:
        while not until.is_set():
            for process in stack.processes.processes.values():
                started = time.monotonic()
                try:
                    response = await http.get(process.url + "/readyz")
                    samples.append(
                        (response.status_code, time.monotonic() - started, response.headers["content-type"], started)
                    )
                except httpx.HTTPError:
                    samples.append((-1, time.monotonic() - started, "", started))
            await asyncio.sleep(0.2)


async def run_outage(fresh: dict[str, str], server_url: str, log_dir: Path, outage: float) -> dict[str, Any]:
    proxy = TcpProxy([postgres_upstream(server_url)])
    await proxy.start()
    via_proxy = {name: through_proxy(url, proxy.port) for name, url in fresh.items()}
    stack = Stack(databases=fresh, database_urls=via_proxy, log_dir=log_dir)
    try:
        async with running_stack(stack):
            count = max(REFERRAL_COUNT, 30)
            load = Load(lambda: stack.url("referrals"), count, families=count // 3, concurrency=6, deadline_seconds=180)
            run = asyncio.create_task(load.run())

            async def under_way() -> bool:
                load.raise_if_broken()
                return load.accepted >= 10

            await wait_until(under_way, timeout=120, what="load under way", interval=0.05)
            await proxy.cut()
            cut_at = time.monotonic()
            ready_samples: list[tuple[int, float, str, float]] = []
            restored = asyncio.Event()
            prober = asyncio.create_task(probe_readiness_during(stack, restored, ready_samples))
            await asyncio.sleep(outage)
            await proxy.restore()
            restored_at = time.monotonic()
            restored.set()
            await prober
            ready_after = await readiness_after_restore(stack)
            await run

            async def drained() -> bool:
                return await outbox_settled(fresh["referrals"]) and await outbox_settled(fresh["cases"])

            await wait_until(drained, timeout=60, what="outboxes drained after the outage")

            during = [t for t in load.timeline if cut_at <= t[0] and t[0] + t[3] <= restored_at]
            answered = [t for t in during if t[2] != -1]
            statuses = sorted({t[2] for t in during})
            latencies = [t[3] for t in answered]
            assert during, "no request was made during the outage"
            assert all(t[2] in (503, 409, -1) for t in during), statuses
            assert max(latencies) < QUICK_SECONDS, f"slowest answer during the outage: {max(latencies):.2f}s"
            ready_samples = [s for s in ready_samples if s[3] + s[1] <= restored_at]
            not_503 = [s for s in ready_samples if not (s[0] == 503 and s[2].startswith("application/problem+json"))]
            assert not_503 == [], f"/readyz during the outage: {not_503[:5]} of {len(ready_samples)}"
            assert max(s[1] for s in ready_samples) < QUICK_SECONDS
            assert ready_after < READY_WITHIN_SECONDS, f"ready {ready_after:.1f}s after the database returned"
            figures = await check_delivery_invariants(stack, load)
            figures.update(
                outage_s=outage,
                requests_during_outage=len(during),
                statuses_during_outage=statuses,
                transport_errors_during_outage=len(during) - len(answered),
                p50_answer_s=round(statistics.median(latencies), 3),
                max_answer_s=round(max(latencies), 3),
                readyz_max_s=round(max(s[1] for s in ready_samples), 3),
                ready_after_restore_s=round(ready_after, 2),
            )
            return figures
    finally:
        await proxy.stop()


async def test_database_cut_under_load_gives_quick_503s_and_recovers(
    fresh_referrals_db: str, fresh_cases_db: str, server_url: str, tmp_path: Path
) -> None:
    fresh = database_map(fresh_referrals_db, fresh_cases_db)
    FIGURES["database cut"] = await run_outage(fresh, server_url, tmp_path, OUTAGE_SECONDS)
    print(FIGURES)


@pytest.mark.soak
async def test_soak_database_cut_for_twenty_seconds(
    fresh_referrals_db: str, fresh_cases_db: str, server_url: str, tmp_path: Path
) -> None:
    fresh = database_map(fresh_referrals_db, fresh_cases_db)
    FIGURES["database cut (soak)"] = await run_outage(fresh, server_url, tmp_path, SOAK_OUTAGE_SECONDS)
    print(FIGURES)
