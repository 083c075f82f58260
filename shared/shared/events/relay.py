"""`OutboxRelay` delivers due outbox deliveries over HTTP, signed per Standard Webhooks.

Several relays may run at once: each batch is claimed with `FOR UPDATE SKIP LOCKED`; deliveries to one subscriber
about one subject go in order; failures retry with exponential backoff and jitter; after the last attempt a delivery
is dead-lettered and can be replayed by an admin (`shared.events.admin`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import func, insert, literal, select, update

from shared.db import Database
from shared.events.envelope import CloudEvent, sign_headers
from shared.events.outbox import NOTIFY_CHANNEL
from shared.logging import outgoing_headers
from shared.metrics import DB_POOL_IN_USE, OUTBOX_BACKLOG, OUTBOX_DEAD, OUTBOX_DELIVERIES, OUTBOX_LAG
from shared.notify import listen, wait_any
from shared.platform_tables import PlatformTables
from shared.tracing import continue_trace, untraced_http

log = structlog.get_logger("shared.events")


def status_reason(status_code: int) -> str:
    """What the delivery log keeps of a receiver's error answer: its status and the standard reason phrase —
    never the body (a receiver inside the network would otherwise be read through the delivery log)."""
    return f"HTTP {status_code} {httpx.codes.get_reason_phrase(status_code)}".strip()


def failure_reason(exc: httpx.HTTPError) -> str:
    """A short, fixed description of a delivery that got no answer — never the exception's text, which can
    carry what a receiver or a resolver said. A transport may name its own (`delivery_reason`)."""
    fixed = getattr(exc, "delivery_reason", None)
    if isinstance(fixed, str):
        reason = fixed
    elif isinstance(exc, httpx.TimeoutException):
        reason = "no answer in time"
    elif isinstance(exc, httpx.ConnectError):
        reason = "could not connect"
    else:
        reason = "the delivery failed"
    return f"{type(exc).__name__}: {reason}"


class OutboxRelay:
    """Delivers pending outbox deliveries. Safe to run in several processes against one database."""

    def __init__(
        self,
        db: Database,
        tables: PlatformTables,
        *,
        batch_size: int = 100,
        max_attempts: int = 10,
        backoff_base: float = 0.5,
        backoff_max: float = 300.0,
        timeout: float = 5.0,
        poll_interval: float = 3.0,
        max_concurrency: int = 16,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.tables = tables
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_concurrency = max_concurrency
        self._client = client
        self._owns_client = client is None
        self._wake = asyncio.Event()

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with "equal jitter": uniform in [c/2, c] where c = min(max, base * 2**(attempts-1)).

        Half the delay is kept so that retries never bunch up near zero; the other half spreads them out.
        """
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(attempts - 1, 0)))
        return random.uniform(ceiling / 2, ceiling)

    async def run_once(self) -> int:
        """Claim one batch, deliver it, record the results. Returns how many deliveries were attempted.

        The claim is a short transaction: due rows are locked with `FOR UPDATE SKIP LOCKED` and leased by moving
        their `next_attempt_at` past the delivery timeout, then committed. Deliveries run with no transaction open,
        so a slow subscriber holds no locks or connections. Results are recorded only where the lease is still
        ours; a relay that dies mid-batch simply lets its leases expire and another relay delivers again (the
        consumer's inbox makes that a no-op).
        """
        d = self.tables.outbox_deliveries
        query = self._due_deliveries()
        async with self.db.sessionmaker() as session, session.begin():
            rows = (await session.execute(query)).all()
            if not rows:
                return 0
            lease = datetime.now(UTC) + timedelta(seconds=self.timeout * 2 + 10)
            await session.execute(update(d).where(d.c.id.in_([r.id for r in rows])).values(next_attempt_at=lease))
        client = self._get_client()
        limit = asyncio.Semaphore(self.max_concurrency)

        async def deliver(row: Any) -> tuple[int | None, str | None, int]:
            async with limit:
                return await self._deliver(client, row)

        results = await asyncio.gather(*(deliver(row) for row in rows))
        async with self.db.sessionmaker() as session, session.begin():
            now = datetime.now(UTC)
            for row, (status_code, error, _duration_ms) in zip(rows, results, strict=True):
                attempts = row.attempts + 1
                ok = status_code is not None and 200 <= status_code < 300
                values: dict[str, Any] = {
                    "attempts": attempts,
                    "last_attempt_at": now,
                    "last_status_code": status_code,
                    "last_error": error,
                }
                if ok:
                    values.update(status="delivered", delivered_at=now)
                    OUTBOX_LAG.observe(max((now - row.created_at).total_seconds(), 0.0))
                    OUTBOX_DELIVERIES.labels(result="delivered").inc()
                elif attempts >= self.max_attempts:
                    values.update(status="dead")
                    OUTBOX_DELIVERIES.labels(result="dead").inc()
                    log.warning("outbox_dead_letter", delivery_id=row.id, event_type=row.type, attempts=attempts)
                else:
                    values.update(next_attempt_at=now + timedelta(seconds=self.backoff(attempts)))
                    OUTBOX_DELIVERIES.labels(result="retry").inc()
                await session.execute(
                    update(d)
                    .where(d.c.id == row.id, d.c.status == "pending", d.c.next_attempt_at == lease)
                    .values(**values)
                )
            await session.execute(
                insert(self.tables.delivery_attempts),
                [
                    {"delivery_id": row.id, "status_code": sc, "error": err, "duration_ms": ms}
                    for row, (sc, err, ms) in zip(rows, results, strict=True)
                ],
            )
            return len(rows)

    def _due_deliveries(self) -> Any:
        """Due pending deliveries with their event and subscription, oldest first, locked (`SKIP LOCKED`); a
        delivery waits while an earlier one of the same subscription and subject is pending (per-subject order)."""
        d, e, s = self.tables.outbox_deliveries, self.tables.outbox_events, self.tables.event_subscriptions
        earlier = d.alias("earlier")
        blocked = (
            select(literal(1))
            .where(
                earlier.c.subscription_id == d.c.subscription_id,
                earlier.c.subject == d.c.subject,
                earlier.c.status == "pending",
                earlier.c.id < d.c.id,
            )
            .exists()
        )
        query = (
            select(
                d.c.id,
                d.c.attempts,
                d.c.created_at,
                e.c.id.label("event_id"),
                e.c.type,
                e.c.source,
                e.c.subject,
                e.c.time,
                e.c.data,
                e.c.traceparent,
                s.c.url,
                s.c.secret,
                s.c.owner_agency,
            )
            .join(e, e.c.id == d.c.event_id)
            .join(s, s.c.id == d.c.subscription_id)
            .where(d.c.status == "pending", d.c.next_attempt_at <= func.now(), ~blocked)
            .order_by(d.c.id)
            .limit(self.batch_size)
            .with_for_update(of=d, skip_locked=True)
        )
        return query

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def _deliver(self, client: httpx.AsyncClient, row: Any) -> tuple[int | None, str | None, int]:
        # An internal subscriber (configured, no owning agency) continues the trace: the envelope's `traceparent`
        # and the headers the httpx instrumentation adds. A partner's webhook gets neither, nor our request id:
        # they would tell an outsider the platform's trace ids (`untraced_http`).
        internal = row.owner_agency is None
        event = CloudEvent(
            id=str(row.event_id),
            source=row.source,
            type=row.type,
            subject=row.subject,
            time=row.time,
            data=row.data,
            traceparent=row.traceparent if internal else None,
        )
        body = event.model_dump_json(exclude_none=True)
        headers = {
            "content-type": "application/cloudevents+json",
            **sign_headers(row.secret, str(row.event_id), body),
            **(outgoing_headers() if internal else {}),
        }
        started = time.perf_counter()
        try:
            with (
                continue_trace(row.traceparent, f"deliver {row.type}", **{"cloudevents.event_id": str(row.event_id)}),
                nullcontext() if internal else untraced_http(),
            ):
                response = await client.post(row.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return None, failure_reason(exc), int((time.perf_counter() - started) * 1000)
        ms = int((time.perf_counter() - started) * 1000)
        error = None if response.is_success else status_reason(response.status_code)
        return response.status_code, error, ms

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set. After a pass that found work it passes again at once (a delivery may have
        unblocked the next one about its subject); otherwise it sleeps until NOTIFY wakes it (`shared.notify`:
        each outbox write notifies at commit), the next retry is due, or `poll_interval` (the safety net)."""
        listener = asyncio.create_task(listen(self.db.url, NOTIFY_CHANNEL, self._wake, stop), name="outbox-listener")
        next_gauge = 0.0
        try:
            while not stop.is_set():
                self._wake.clear()  # before the pass: a notification during it wakes the next wait
                if time.monotonic() >= next_gauge:
                    next_gauge = time.monotonic() + 5.0
                    with contextlib.suppress(Exception):
                        await self.update_gauges()
                try:
                    handled = await self.run_once()
                    wait = 0.0 if handled else await self.next_due_in()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database may be down: keep the relay alive
                    log.warning("outbox_relay_error", error_type=type(exc).__name__, error=str(exc)[:200])
                    await wait_any(1.0, stop)
                    wait = self.poll_interval
                if wait > 0:
                    await wait_any(wait, self._wake, stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
            if self._owns_client and self._client is not None:
                await self._client.aclose()
                self._client = None

    async def next_due_in(self) -> float:
        """Seconds until the earliest pending delivery not yet due (a retry) is due, at most `poll_interval`."""
        d = self.tables.outbox_deliveries
        query = select(func.extract("epoch", func.min(d.c.next_attempt_at) - func.now())).where(
            d.c.status == "pending", d.c.next_attempt_at > func.now()
        )
        async with self.db.sessionmaker() as session:
            seconds = (await session.execute(query)).scalar_one_or_none()
        return self.poll_interval if seconds is None else min(self.poll_interval, max(float(seconds), 0.01))

    async def update_gauges(self) -> None:
        """Publish the backlog and dead-letter counts as Prometheus gauges."""
        d = self.tables.outbox_deliveries
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                select(d.c.status, func.count()).where(d.c.status != "delivered").group_by(d.c.status)
            )
            rows: dict[str, int] = {status: count for status, count in result.all()}
        OUTBOX_BACKLOG.set(rows.get("pending", 0))
        OUTBOX_DEAD.set(rows.get("dead", 0))
        pool = self.db.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        if callable(checked_out):
            DB_POOL_IN_USE.set(checked_out())
