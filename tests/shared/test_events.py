"""Outbox → relay → HTTP subscriber → inbox, with real processes' worth of moving parts (real HTTP, real DB)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from standardwebhooks import Webhook

from referrals.models import platform
from shared.db import Database, async_url
from shared.events import CloudEvent, OutboxRelay, accept_once, new_secret, publish, sign_headers
from tests.support import free_port


class Receiver:
    """A real webhook receiver on a loopback port that verifies Standard Webhooks signatures."""

    def __init__(self, secret: str, port: int | None = None, status: int = 200) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.ids: list[str] = []
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Any:
            body = await request.body()
            payload = Webhook(self.secret).verify(body, dict(request.headers))
            self.ids.append(request.headers["webhook-id"])
            self.received.append(payload)
            from fastapi.responses import JSONResponse

            return JSONResponse({"ok": True}, status_code=self.status)

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self.server.should_exit = False
        self.server.started = False
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task


@pytest.fixture
async def outbox_db(fresh_referrals_db: str) -> AsyncIterator[tuple[str, async_sessionmaker[AsyncSession]]]:
    engine = create_async_engine(async_url(fresh_referrals_db))
    yield fresh_referrals_db, async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _subscribe(
    factory: async_sessionmaker[AsyncSession], url: str, secret: str, agency: str | None = None
) -> None:
    async with factory() as session, session.begin():
        await session.execute(
            insert(platform.event_subscriptions).values(
                id=uuid.uuid4(), url=url, event_types=["thing.happened"], secret=secret, owner_agency=agency
            )
        )


async def _publish(
    factory: async_sessionmaker[AsyncSession], n: int, subject: str | None = None, **kw: Any
) -> list[uuid.UUID]:
    ids = []
    async with factory() as session, session.begin():
        for i in range(n):
            ids.append(
                await publish(
                    session,
                    platform,
                    source="/test",
                    type="thing.happened",
                    subject=subject,
                    data={"n": i},
                    **kw,
                )
            )
    return ids


async def _statuses(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    d = platform.outbox_deliveries
    async with factory() as session:
        rows = (await session.execute(select(d.c.status, func.count()).group_by(d.c.status))).all()
    return {status: count for status, count in rows}


async def test_relay_delivers_signed_cloudevent(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    url, factory = outbox_db
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    try:
        await _subscribe(factory, receiver.url, secret)
        [event_id] = await _publish(factory, 1, subject="referral/1")
        relay = OutboxRelay(Database(url), platform)
        assert await relay.run_once() == 1
    finally:
        await receiver.stop()
    assert receiver.ids == [str(event_id)]
    event = receiver.received[0]
    assert event["specversion"] == "1.0" and event["type"] == "thing.happened"
    assert event["data"] == {"n": 0} and event["subject"] == "referral/1"
    assert await _statuses(factory) == {"delivered": 1}


async def test_partner_subscription_gets_only_its_agency(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    _, factory = outbox_db
    await _subscribe(factory, "http://127.0.0.1:9/a", new_secret(), agency="A")
    await _subscribe(factory, "http://127.0.0.1:9/b", new_secret(), agency="B")
    await _publish(factory, 1, audience_agency="A")
    await _publish(factory, 1)  # no audience: internal subscribers only
    d, s = platform.outbox_deliveries, platform.event_subscriptions
    async with factory() as session:
        owners = (
            (await session.execute(select(s.c.owner_agency).join(d, d.c.subscription_id == s.c.id))).scalars().all()
        )
    assert owners == ["A"]


async def test_two_relays_never_deliver_one_event_twice(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    url, factory = outbox_db
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    try:
        await _subscribe(factory, receiver.url, secret)
        ids = await _publish(factory, 300)
        relays = [OutboxRelay(Database(url), platform, batch_size=25) for _ in range(2)]

        async def drain(relay: OutboxRelay) -> int:
            total = 0
            while (n := await relay.run_once()) > 0:
                total += n
            return total

        counts = await asyncio.gather(*(drain(r) for r in relays))
    finally:
        await receiver.stop()
    assert sum(counts) == 300
    assert all(c > 0 for c in counts), counts  # both relays did work
    assert sorted(receiver.ids) == sorted(str(i) for i in ids)
    assert len(set(receiver.ids)) == 300
    assert await _statuses(factory) == {"delivered": 300}


async def test_subscriber_down_gets_event_when_back(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    url, factory = outbox_db
    secret = new_secret()
    receiver = Receiver(secret)  # not started yet: the port refuses connections
    await _subscribe(factory, receiver.url, secret)
    [event_id] = await _publish(factory, 1)
    relay = OutboxRelay(Database(url), platform, backoff_base=0.05, backoff_max=0.1)
    assert await relay.run_once() == 1
    assert await _statuses(factory) == {"pending": 1}
    await receiver.start()
    try:
        await asyncio.sleep(0.15)
        assert await relay.run_once() == 1
    finally:
        await receiver.stop()
    assert receiver.ids == [str(event_id)]
    d, a = platform.outbox_deliveries, platform.delivery_attempts
    async with factory() as session:
        attempts = (await session.execute(select(a.c.status_code).order_by(a.c.id))).scalars().all()
        row = (await session.execute(select(d.c.status, d.c.attempts))).one()
    assert attempts == [None, 200]  # the refused attempt is logged too
    assert (row.status, row.attempts) == ("delivered", 2)


async def test_ordering_per_subject_holds_back_later_events(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    url, factory = outbox_db
    secret = new_secret()
    receiver = Receiver(secret, status=503)
    await receiver.start()
    try:
        await _subscribe(factory, receiver.url, secret)
        first, second = await _publish(factory, 2, subject="referral/7")
        relay = OutboxRelay(Database(url), platform, backoff_base=0.01, backoff_max=0.02)
        await relay.run_once()
        assert receiver.ids == [str(first)]  # the second waits behind the failed first
        receiver.status = 200
        await asyncio.sleep(0.05)
        await relay.run_once()
        await asyncio.sleep(0.05)
        await relay.run_once()
    finally:
        await receiver.stop()
    assert receiver.ids == [str(first), str(first), str(second)]


async def test_dead_letter_after_last_attempt_and_replay(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    url, factory = outbox_db
    secret = new_secret()
    receiver = Receiver(secret, status=500)
    await receiver.start()
    try:
        await _subscribe(factory, receiver.url, secret)
        await _publish(factory, 1)
        relay = OutboxRelay(Database(url), platform, max_attempts=3, backoff_base=0.01, backoff_max=0.01)
        for _ in range(3):
            await relay.run_once()
            await asyncio.sleep(0.03)
        assert await _statuses(factory) == {"dead": 1}
        assert await relay.run_once() == 0
        from shared.events import replay_dead

        async with factory() as session, session.begin():
            assert await replay_dead(session, platform, None) == 1
        receiver.status = 200
        assert await relay.run_once() == 1
    finally:
        await receiver.stop()
    assert await _statuses(factory) == {"delivered": 1}
    assert len(receiver.ids) == 4


async def test_backoff_grows_exponentially_with_jitter() -> None:
    relay = OutboxRelay(Database("postgresql://unused/unused"), platform, backoff_base=1.0, backoff_max=60.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (7, 60.0), (20, 60.0)]:
        samples = [relay.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 100  # jittered, not fixed


async def test_inbox_makes_redelivery_a_noop(referrals_sessions: async_sessionmaker[AsyncSession]) -> None:
    event = CloudEvent(id=str(uuid.uuid4()), source="/test", type="thing.happened", time="2026-01-01T00:00:00Z")
    async with referrals_sessions() as session:
        assert await accept_once(session, platform, event) is True
        assert await accept_once(session, platform, event) is False
        count = (await session.execute(text("SELECT count(*) FROM inbox"))).scalar_one()
    assert count == 1


async def test_consumer_endpoint_verifies_signature_and_deduplicates(
    shared_client: Any, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from shared.settings import DEV_EVENT_SECRET

    event = CloudEvent(
        id=str(uuid.uuid4()),
        source="/test",
        type="thing.happened",
        time="2026-01-01T00:00:00Z",
        data={"n": 1},
    )
    body = event.model_dump_json()
    forged = sign_headers(new_secret(), event.id, body)
    r = await shared_client.post("/v1/events", content=body, headers=forged)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    good = sign_headers(DEV_EVENT_SECRET, event.id, body)
    first = await shared_client.post("/v1/events", content=body, headers=good)
    second = await shared_client.post("/v1/events", content=body, headers=good)
    assert first.json()["status"] == "processed"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    async with referrals_sessions() as session:
        inbox = (
            await session.execute(text("SELECT count(*) FROM inbox WHERE event_id = :id"), {"id": event.id})
        ).scalar_one()
        handled = (
            await session.execute(text("SELECT count(*) FROM audit_log WHERE record_id = :id"), {"id": event.id})
        ).scalar_one()
    assert (inbox, handled) == (1, 1)


async def test_subscriptions_sync_from_configuration(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    from shared.events import sync_internal_subscriptions
    from shared.settings import EventSubscriber

    _, factory = outbox_db
    s = platform.event_subscriptions
    async with factory() as session, session.begin():
        await sync_internal_subscriptions(
            session, platform, [EventSubscriber(name="cases", url="http://x/v1/events", event_types=["a"])], "whsec_x"
        )
    async with factory() as session, session.begin():
        await sync_internal_subscriptions(
            session,
            platform,
            [EventSubscriber(name="outcomes", url="http://y/v1/events", event_types=["b"])],
            "whsec_x",
        )
    async with factory() as session:
        rows = {r.name: r.active for r in (await session.execute(select(s.c.name, s.c.active))).all()}
    assert rows == {"cases": False, "outcomes": True}
    async with factory() as session, session.begin():
        await session.execute(update(s).values(active=True))


async def test_backlog_and_dead_letter_gauges(outbox_db: tuple[str, async_sessionmaker[AsyncSession]]) -> None:
    from shared.metrics import DB_POOL_IN_USE, OUTBOX_BACKLOG, OUTBOX_DEAD

    url, factory = outbox_db
    await _subscribe(factory, "http://127.0.0.1:9/nowhere", new_secret())
    await _publish(factory, 3)
    relay = OutboxRelay(Database(url), platform, max_attempts=1)
    await relay.update_gauges()
    assert (OUTBOX_BACKLOG._value.get(), OUTBOX_DEAD._value.get()) == (3, 0)
    await relay.run_once()  # the only attempt fails: all three are dead-lettered
    await relay.update_gauges()
    assert (OUTBOX_BACKLOG._value.get(), OUTBOX_DEAD._value.get()) == (0, 3)
    async with relay.db.sessionmaker() as held:
        await held.execute(text("SELECT 1"))
        await relay.update_gauges()
        assert DB_POOL_IN_USE._value.get() == 1  # the held connection; the gauge query's own is back in the pool
    await relay.update_gauges()
    assert DB_POOL_IN_USE._value.get() == 0


async def _wait_for(predicate: Any, seconds: float) -> float:
    """Seconds until `predicate()` holds (checked every 20 ms); fails after `seconds`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not predicate():
        assert loop.time() - started < seconds, "not in time"
        await asyncio.sleep(0.02)
    return loop.time() - started


async def test_running_relay_wakes_on_notify_and_on_a_due_retry_not_the_poll(
    outbox_db: tuple[str, async_sessionmaker[AsyncSession]],
) -> None:
    """With a 60 s safety-net poll, a new event is delivered at once (the outbox write's NOTIFY) and a failed
    delivery is retried when its backoff ends (the relay sleeps until the next due retry, not the poll)."""
    url, factory = outbox_db
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    await _subscribe(factory, receiver.url, secret)
    relay = OutboxRelay(Database(url), platform, poll_interval=60.0, backoff_base=0.4, backoff_max=0.4)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run_forever(stop))
    try:
        await asyncio.sleep(1.0)  # the relay has found nothing and sleeps
        [first] = await _publish(factory, 1, subject="a")
        assert await _wait_for(lambda: receiver.ids == [str(first)], 5.0) < 5.0
        receiver.status = 503
        [second] = await _publish(factory, 1, subject="b")
        await _wait_for(lambda: len(receiver.ids) == 2, 5.0)
        receiver.status = 200
        await _wait_for(lambda: receiver.ids == [str(first), str(second), str(second)], 5.0)
        await _wait_for(lambda: not running.done(), 0.1)
    finally:
        stop.set()
        await asyncio.wait_for(running, 5.0)  # stops promptly, without waiting out the poll
        await receiver.stop()
    assert await _statuses(factory) == {"delivered": 2}
