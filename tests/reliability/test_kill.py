"""SIGKILL under load: no acknowledged referral is lost or duplicated, every acceptance has one case effect.

Clients submit and accept `REFERRAL_COUNT` maternity referrals (three referrals per family, so cases both
opens and joins) while a service process is killed and restarted. The clients retry with their idempotency
keys. Afterwards the databases are read directly (see `check_delivery_invariants`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from tests.reliability.harness import (
    REFERRAL_COUNT,
    SOAK_REFERRAL_COUNT,
    Load,
    Stack,
    all_linked,
    check_delivery_invariants,
    database_map,
    fetch,
    fetchval,
    outbox_settled,
    running_stack,
    wait_until,
)
from tests.support import ServiceProcess, free_port, serve_asgi

pytestmark = pytest.mark.e2e
DOWN_SECONDS = 1.5
FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture
def stack(fresh_referrals_db: str, fresh_cases_db: str, tmp_path: Path) -> Stack:
    return Stack(databases=database_map(fresh_referrals_db, fresh_cases_db), log_dir=tmp_path)


async def settle(stack: Stack, load: Load) -> float:
    """Wait until every acceptance reached its case and every outbox drained; return how long that took."""

    async def settled() -> bool:
        return (
            await all_linked(stack.databases["referrals"], load.count)
            and await outbox_settled(stack.databases["referrals"])
            and await outbox_settled(stack.databases["cases"])
        )

    try:
        return await wait_until(settled, timeout=60, what="events delivered and outboxes drained")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; state: {await describe(stack)}") from None


async def describe(stack: Stack) -> dict[str, Any]:
    """What the databases hold, for a failure message."""
    referrals_db, cases_db = stack.databases["referrals"], stack.databases["cases"]
    return {
        "referrals": await fetch(
            referrals_db, "SELECT status, case_id IS NOT NULL AS linked, count(*) FROM referrals GROUP BY 1, 2"
        ),
        "referrals outbox": await fetch(
            referrals_db,
            "SELECT status, last_status_code, left(last_error, 200), count(*) FROM outbox_deliveries GROUP BY 1, 2, 3",
        ),
        "cases outbox": await fetch(
            cases_db,
            "SELECT status, last_status_code, left(last_error, 200), count(*) FROM outbox_deliveries GROUP BY 1, 2, 3",
        ),
    }


async def kill_under_load(stack: Stack, load: Load, victim: ServiceProcess, at_fraction: float) -> dict[str, Any]:
    run = asyncio.create_task(load.run())
    started = time.monotonic()

    async def far_enough() -> bool:
        load.raise_if_broken()
        assert not run.done() or run.exception() is None, run.exception() if run.done() else None
        return load.acknowledged >= load.count * at_fraction

    await wait_until(far_enough, timeout=60, what="load under way", interval=0.02)
    in_flight = load.acknowledged - load.accepted
    victim.kill()
    killed_at = time.monotonic()
    await asyncio.sleep(DOWN_SECONDS)
    await stack.restart(victim)
    back_after = time.monotonic() - killed_at
    await run
    drain = await settle(stack, load)
    figures = await check_delivery_invariants(stack, load)
    figures.update(
        acknowledged_before_kill=load.count * at_fraction,
        submitted_not_yet_accepted_at_kill=in_flight,
        restart_to_ready_s=round(back_after - DOWN_SECONDS, 2),
        load_seconds=round(time.monotonic() - started - drain, 1),
        drain_after_load_s=round(drain, 2),
    )
    return figures


async def test_cases_killed_mid_load_loses_and_duplicates_nothing(stack: Stack) -> None:
    async with running_stack(stack):
        load = Load((lambda: stack.url("referrals")), REFERRAL_COUNT, families=REFERRAL_COUNT // 3)
        FIGURES["cases killed"] = await kill_under_load(stack, load, stack.replica("cases"), at_fraction=0.3)
    print(FIGURES)


async def test_referrals_killed_mid_load_loses_and_duplicates_nothing(stack: Stack) -> None:
    async with running_stack(stack):
        load = Load((lambda: stack.url("referrals")), REFERRAL_COUNT, families=REFERRAL_COUNT // 3)
        figures = await kill_under_load(stack, load, stack.replica("referrals"), at_fraction=0.3)
        FIGURES["referrals killed"] = figures
        assert figures["retried_submissions"] + figures["retried_acceptances"] > 0, "the kill hit no request"
    print(FIGURES)


class HoldingProxy:
    """Stands between the referrals relay and cases: forwards each delivery to cases (which processes it and
    commits), then holds the answer while `holding` is set, so the relay's batch is in flight when it is killed."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.holding = asyncio.Event()
        self.released = asyncio.Event()
        self.held = 0
        self.rejecting = True
        self.deliveries: list[tuple[str, str]] = []  # (event id, cases' answer)
        self.client = httpx.AsyncClient(timeout=10)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        if self.rejecting:
            await Response(b"{}", 503, media_type="application/json")(scope, receive, send)
            return
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        upstream = await self.client.post(self.target, content=body, headers=headers)
        answer = upstream.json().get("status", "?") if upstream.is_success else str(upstream.status_code)
        self.deliveries.append((request.headers.get("webhook-id", ""), answer))
        if self.holding.is_set():
            self.held += 1
            await self.released.wait()
        await Response(upstream.content, upstream.status_code, media_type="application/json")(scope, receive, send)


async def test_relay_killed_mid_batch_redelivers_and_the_inbox_absorbs_it(stack: Stack) -> None:
    """Deliveries pile up while cases answers 503; then one relay batch is forwarded to cases (which commits
    each event) and its answers are held back, and the relay's process is killed with the batch in flight."""
    count = max(REFERRAL_COUNT // 2, 30)
    async with stack_with_holding_proxy(stack) as proxy:
        load = Load(lambda: stack.url("referrals"), count, families=count // 3)
        run = asyncio.create_task(load.run())

        async def half_accepted() -> bool:
            load.raise_if_broken()
            return load.accepted >= count // 2

        await wait_until(half_accepted, timeout=120, what="half the referrals accepted", interval=0.05)
        proxy.holding.set()
        proxy.rejecting = False

        async def batch_in_flight() -> bool:
            return proxy.held >= 5

        await wait_until(batch_in_flight, timeout=30, what="a relay batch held in flight", interval=0.01)
        relay = stack.replica("referrals")
        relay.kill()
        held_at_kill = proxy.held
        proxy.holding.clear()
        proxy.released.set()
        await asyncio.sleep(0.5)
        await stack.restart(relay)
        await run
        await settle(stack, load)
        figures = await check_delivery_invariants(stack, load)

        seen: dict[str, list[str]] = {}
        for event_id, answer in proxy.deliveries:
            seen.setdefault(event_id, []).append(answer)
        redelivered = {e: answers for e, answers in seen.items() if len(answers) > 1}
        assert len(redelivered) >= held_at_kill, "the killed batch was not delivered again"
        for answers in redelivered.values():
            assert answers[0] == "processed" and set(answers[1:]) == {"duplicate"}, answers
        inbox = await fetchval(stack.databases["cases"], "SELECT count(*) FROM inbox WHERE type = 'referral.accepted'")
        assert inbox == count
        figures.update(held_at_kill=held_at_kill, redelivered_events=len(redelivered))
        FIGURES["relay killed mid-batch"] = figures
    print(FIGURES)


@asynccontextmanager
async def stack_with_holding_proxy(stack: Stack) -> AsyncIterator[HoldingProxy]:
    port = free_port()
    proxy = HoldingProxy("")
    subscriber_urls = {"cases": f"http://127.0.0.1:{port}/v1/events"}
    async with serve_asgi(proxy, port=port), running_stack(stack, subscriber_urls=subscriber_urls):
        proxy.target = stack.url("cases") + "/v1/events"
        try:
            yield proxy
        finally:
            proxy.released.set()
            await proxy.client.aclose()


@pytest.mark.soak
async def test_soak_cases_killed_with_full_load(stack: Stack) -> None:
    async with running_stack(stack):
        load = Load((lambda: stack.url("referrals")), SOAK_REFERRAL_COUNT, families=SOAK_REFERRAL_COUNT // 3)
        load.deadline_seconds = 600
        FIGURES["soak cases killed"] = await kill_under_load(stack, load, stack.replica("cases"), at_fraction=0.3)
    print(FIGURES)


@pytest.mark.soak
async def test_soak_referrals_killed_with_full_load(stack: Stack) -> None:
    async with running_stack(stack):
        load = Load(lambda: stack.url("referrals"), SOAK_REFERRAL_COUNT, families=SOAK_REFERRAL_COUNT // 3)
        load.deadline_seconds = 600
        figures = await kill_under_load(stack, load, stack.replica("referrals"), at_fraction=0.3)
        FIGURES["soak referrals killed"] = figures
    print(FIGURES)
