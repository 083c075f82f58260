"""Transactional outbox, HTTP relay and idempotent inbox.

* `publish()` writes an event (CloudEvents 1.0 envelope) and one delivery per matching subscription in the
  caller's transaction, so a state change and its announcement commit together.
* `OutboxRelay` delivers due deliveries over HTTP, signed per Standard Webhooks. Several relays may run at
  once: each batch is claimed with `FOR UPDATE SKIP LOCKED`; deliveries to one subscriber about one subject
  go in order; failures retry with exponential backoff and jitter; after the last attempt a delivery is
  dead-lettered and can be replayed by an admin.
* `events_router()` is a consumer endpoint: it verifies the signature, records the event id in the inbox
  (a redelivery is a no-op) and runs the handler in the same transaction.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import asyncpg
import httpx
import orjson
import structlog
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import and_, any_, bindparam, func, insert, literal, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE
from standardwebhooks import Webhook, WebhookVerificationError

from shared.auth import require_roles
from shared.db import Database, SessionDep, plain_url
from shared.errors import BadRequest, Unauthorized
from shared.logging import outgoing_headers
from shared.metrics import DB_POOL_IN_USE, OUTBOX_BACKLOG, OUTBOX_DEAD, OUTBOX_DELIVERIES, OUTBOX_LAG
from shared.platform_tables import PlatformTables
from shared.settings import EventSubscriber
from shared.tracing import continue_trace, current_traceparent

log = structlog.get_logger("shared.events")
NOTIFY_CHANNEL = "earlyhelp_outbox"


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 JSON envelope."""

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    traceparent: str | None = None


def new_secret() -> str:
    """A Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event to write to the outbox: by `publish`, or by a service's own one-statement write (referral
    intake) through `outbox_ctes`."""

    id: uuid.UUID
    type: str
    source: str
    subject: str | None
    data: dict[str, Any]
    """JSON-ready (see `new`)."""
    audience_agency: str | None
    traceparent: str | None

    @classmethod
    def new(
        cls,
        *,
        source: str,
        type: str,
        data: Mapping[str, Any],
        subject: str | None = None,
        audience_agency: str | None = None,
    ) -> OutboxEvent:
        """A new event in the current trace; UUIDs, dates and sets in `data` become JSON values."""
        return cls(
            id=uuid.uuid4(),
            type=type,
            source=source,
            subject=subject,
            data=orjson.loads(orjson.dumps(dict(data), default=_json_default)),
            audience_agency=audience_agency,
            traceparent=current_traceparent(),
        )

    def params(self) -> dict[str, Any]:
        """The bind parameters of `outbox_ctes`."""
        return {
            "e_id": self.id,
            "e_type": self.type,
            "e_source": self.source,
            "e_subject": self.subject,
            "e_data": self.data,
            "e_audience_agency": self.audience_agency,
            "e_traceparent": self.traceparent,
        }


def outbox_ctes(tables: PlatformTables, *, when: ColumnElement[bool] | None = None) -> tuple[CTE, CTE]:
    """The outbox event row and its deliveries, as two CTEs to add to a statement that binds
    `OutboxEvent.params()`; with `when`, written only when it holds. The deliveries CTE returns their ids.

    Subscriptions without an owner agency (internal services) receive every event of their types; a
    partner's subscription receives only events whose `audience_agency` is that partner. The foreign key from
    the deliveries to the event is checked at the end of the statement, when both rows exist.
    """
    events, deliveries, subs = tables.outbox_events, tables.outbox_deliveries, tables.event_subscriptions
    columns = ("id", "type", "source", "subject", "data", "audience_agency", "traceparent")
    values = select(*(bindparam(f"e_{name}", type_=events.c[name].type) for name in columns))
    event = (
        insert(events)
        .from_select(list(columns), values if when is None else values.where(when))
        .returning(events.c.id, events.c.type, events.c.subject, events.c.audience_agency)
        .cte("event")
    )
    fan_out = (
        insert(deliveries)
        .from_select(
            ["event_id", "subscription_id", "subject"],
            select(event.c.id, subs.c.id, event.c.subject)
            .select_from(event)
            .join(subs, true())
            .where(
                subs.c.active,
                event.c.type == any_(subs.c.event_types),
                or_(subs.c.owner_agency.is_(None), subs.c.owner_agency == event.c.audience_agency),
            ),
        )
        .returning(deliveries.c.id)
        .cte("deliveries")
    )
    return event, fan_out


@cache
def _publish_statement(tables: PlatformTables) -> Executable:
    # One round trip: the event, its deliveries and the relays' wake-up (sent at commit).
    return select(func.pg_notify(NOTIFY_CHANNEL, "")).add_cte(*outbox_ctes(tables))


async def publish(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    source: str,
    type: str,
    data: Mapping[str, Any],
    subject: str | None = None,
    audience_agency: str | None = None,
) -> uuid.UUID:
    """Write an event and its deliveries (see `outbox_ctes`) in the caller's transaction."""
    event = OutboxEvent.new(source=source, type=type, data=data, subject=subject, audience_agency=audience_agency)
    await session.execute(_publish_statement(tables), event.params())
    return event.id


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def sync_internal_subscriptions(
    session: AsyncSession, tables: PlatformTables, subscribers: Sequence[EventSubscriber], secret: str
) -> None:
    """Make the named (internal) subscriptions match configuration; partner subscriptions are untouched."""
    subs = tables.event_subscriptions
    names = [s.name for s in subscribers]
    for sub in subscribers:
        existing = (await session.execute(select(subs.c.id).where(subs.c.name == sub.name))).scalar_one_or_none()
        values = {"url": sub.url, "event_types": list(sub.event_types), "secret": secret, "active": True}
        if existing is None:
            await session.execute(insert(subs).values(id=uuid.uuid4(), name=sub.name, **values))
        else:
            await session.execute(update(subs).where(subs.c.id == existing).values(**values))
    stale = subs.c.name.is_not(None) & subs.c.owner_agency.is_(None)
    if names:
        stale = stale & subs.c.name.not_in(names)
    await session.execute(update(subs).where(stale).values(active=False))


def sign_headers(secret: str, msg_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


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
        poll_interval: float = 0.25,
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
            )
            .join(e, e.c.id == d.c.event_id)
            .join(s, s.c.id == d.c.subscription_id)
            .where(d.c.status == "pending", d.c.next_attempt_at <= func.now(), ~blocked)
            .order_by(d.c.id)
            .limit(self.batch_size)
            .with_for_update(of=d, skip_locked=True)
        )
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

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def _deliver(self, client: httpx.AsyncClient, row: Any) -> tuple[int | None, str | None, int]:
        event = CloudEvent(
            id=str(row.event_id),
            source=row.source,
            type=row.type,
            subject=row.subject,
            time=row.time,
            data=row.data,
            traceparent=row.traceparent,
        )
        body = event.model_dump_json(exclude_none=True)
        headers = {
            "content-type": "application/cloudevents+json",
            **sign_headers(row.secret, str(row.event_id), body),
            **outgoing_headers(),
        }
        started = time.perf_counter()
        try:
            with continue_trace(row.traceparent, f"deliver {row.type}", **{"cloudevents.event_id": str(row.event_id)}):
                response = await client.post(row.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], int((time.perf_counter() - started) * 1000)
        ms = int((time.perf_counter() - started) * 1000)
        error = None if response.is_success else response.text[:500]
        return response.status_code, error, ms

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, woken by NOTIFY and polling as the safety net."""
        listener = asyncio.create_task(self._listen(stop))
        next_gauge = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_gauge:
                    next_gauge = time.monotonic() + 5.0
                    with contextlib.suppress(Exception):
                        await self.update_gauges()
                try:
                    handled = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database may be down: keep the relay alive
                    log.warning("outbox_relay_error", error_type=type(exc).__name__, error=str(exc)[:200])
                    handled = 0
                    await _sleep_or_stop(stop, 1.0)
                if handled < self.batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
            if self._owns_client and self._client is not None:
                await self._client.aclose()
                self._client = None

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

    async def _listen(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(plain_url(self.db.url), timeout=5)
            except Exception:
                await _sleep_or_stop(stop, 2.0)
                continue
            try:
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                while not stop.is_set() and not conn.is_closed():
                    await _sleep_or_stop(stop, 5.0)
            except Exception:
                await _sleep_or_stop(stop, 1.0)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def replay_dead(session: AsyncSession, tables: PlatformTables, delivery_ids: Sequence[int] | None) -> int:
    """Put dead-lettered deliveries back in the queue (all of them, or the ids given)."""
    d = tables.outbox_deliveries
    condition = d.c.status == "dead"
    if delivery_ids:
        condition = and_(condition, d.c.id.in_(list(delivery_ids)))
    result = await session.execute(
        update(d).where(condition).values(status="pending", attempts=0, next_attempt_at=func.now()).returning(d.c.id)
    )
    return len(result.all())


# --- consumer side ----------------------------------------------------------------------------------------

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def verify_delivery(secret: str, body: bytes, headers: Mapping[str, str]) -> CloudEvent:
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError as exc:
        raise Unauthorized(f"Event signature rejected: {exc}") from exc
    try:
        return CloudEvent.model_validate_json(body)
    except ValueError as exc:
        raise BadRequest("The body is not a CloudEvents 1.0 JSON envelope") from exc


async def accept_once(session: AsyncSession, tables: PlatformTables, event: CloudEvent) -> bool:
    """Record the event id in the inbox; False when it was seen before (the redelivery is a no-op)."""
    stmt = (
        text(
            "INSERT INTO inbox (event_id, type, source) VALUES (:id, :type, :source) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        )
    ).bindparams(id=event.id, type=event.type, source=event.source)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


def events_router(
    tables: PlatformTables,
    handlers: Mapping[str, EventHandler],
    secret_of: Callable[[Request], str],
) -> APIRouter:
    """`POST /v1/events`: the signed, idempotent entry point for events from other services."""
    router = APIRouter(tags=["events"])

    @router.post("/v1/events", summary="Receive a signed CloudEvent from another service")
    async def receive_event(request: Request, session: SessionDep) -> dict[str, Any]:
        body = await request.body()
        event = verify_delivery(secret_of(request), body, request.headers)
        handler = handlers.get(event.type)
        if handler is None:
            return {"status": "ignored", "id": event.id}
        if not await accept_once(session, tables, event):
            return {"status": "duplicate", "id": event.id}
        await handler(session, event)
        return {"status": "processed", "id": event.id}

    return router


class ReplayRequest(BaseModel):
    delivery_ids: list[int] | None = Field(
        default=None, description="Dead-lettered deliveries to replay; all when omitted"
    )


def outbox_admin_router(tables: PlatformTables) -> APIRouter:
    """Admin calls: outbox backlog and dead letters, and replaying them."""
    router = APIRouter(prefix="/v1/admin/outbox", tags=["admin"], dependencies=[Depends(require_roles("admin"))])
    d = tables.outbox_deliveries

    @router.get("", summary="Outbox backlog and dead letters")
    async def outbox_status(session: SessionDep) -> dict[str, Any]:
        rows = (await session.execute(select(d.c.status, func.count()).group_by(d.c.status))).all()
        oldest = (
            await session.execute(select(func.min(d.c.created_at)).where(d.c.status == "pending"))
        ).scalar_one_or_none()
        dead = (
            await session.execute(
                select(d.c.id, d.c.event_id, d.c.attempts, d.c.last_status_code, d.c.last_error)
                .where(d.c.status == "dead")
                .order_by(d.c.id)
                .limit(100)
            )
        ).all()
        return {
            "counts": {status: count for status, count in rows},
            "oldest_pending_at": oldest.isoformat() if oldest else None,
            "dead": [dict(r._mapping) | {"event_id": str(r.event_id)} for r in dead],
        }

    @router.post("/replay", summary="Replay dead-lettered deliveries")
    async def replay(body: ReplayRequest, session: SessionDep) -> dict[str, int]:
        return {"replayed": await replay_dead(session, tables, body.delivery_ids)}

    return router


def event_json(event: CloudEvent) -> str:
    return json.dumps(event.model_dump(mode="json"))
