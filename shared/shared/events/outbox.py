"""The transactional outbox: `publish()` writes an event (CloudEvents 1.0 envelope) and one delivery per matching
subscription in the caller's transaction, so a state change and its announcement commit together."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import and_, any_, bindparam, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from shared.events.envelope import json_default
from shared.platform_tables import PlatformTables
from shared.settings import EventSubscriber
from shared.tracing import current_traceparent

NOTIFY_CHANNEL = "earlyhelp_outbox"


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
            data=orjson.loads(orjson.dumps(dict(data), default=json_default)),
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


def outbox_ctes(
    tables: PlatformTables, *, when: ColumnElement[bool] | None = None, data: ColumnElement[Any] | None = None
) -> tuple[CTE, CTE]:
    """The outbox event row and its deliveries, as two CTEs to add to a statement that binds
    `OutboxEvent.params()`; with `when`, written only when it holds; with `data`, the event's data is that
    expression (over the bound `e_data`) rather than `e_data` itself. The deliveries CTE returns their ids.

    Subscriptions without an owner agency (internal services) receive every event of their types; a
    partner's subscription receives only events whose `audience_agency` is that partner. The foreign key from
    the deliveries to the event is checked at the end of the statement, when both rows exist.
    """
    events, deliveries, subs = tables.outbox_events, tables.outbox_deliveries, tables.event_subscriptions
    columns = ("id", "type", "source", "subject", "data", "audience_agency", "traceparent")
    values = select(
        *(
            data if name == "data" and data is not None else bindparam(f"e_{name}", type_=events.c[name].type)
            for name in columns
        )
    )
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
