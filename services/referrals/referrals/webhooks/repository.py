"""Every query of partner webhooks: their subscriptions and delivery log (the shared outbox tables)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.models import platform
from shared.pagination import Slice, SortKey, Window


@dataclass
class WebhookRepository:
    session: AsyncSession

    async def create_subscription(self, values: dict[str, Any]) -> dict[str, Any]:
        subs = platform.event_subscriptions
        row = (await self.session.execute(insert(subs).values(**values).returning(*subs.c))).one()
        return dict(row._mapping)

    async def subscriptions(self, owner_agency: str | None) -> list[dict[str, Any]]:
        subs = platform.event_subscriptions
        query = select(subs).where(subs.c.active, subs.c.owner_agency.is_not(None))
        if owner_agency is not None:
            query = query.where(subs.c.owner_agency == owner_agency)
        rows = (await self.session.execute(query.order_by(subs.c.created_at, subs.c.id))).all()
        return [dict(r._mapping) for r in rows]

    async def subscription(self, subscription_id: uuid.UUID, owner_agency: str | None) -> dict[str, Any] | None:
        subs = platform.event_subscriptions
        query = select(subs).where(subs.c.id == subscription_id, subs.c.active, subs.c.owner_agency.is_not(None))
        if owner_agency is not None:
            query = query.where(subs.c.owner_agency == owner_agency)
        row = (await self.session.execute(query)).one_or_none()
        return dict(row._mapping) if row else None

    async def deactivate_subscription(self, subscription_id: uuid.UUID) -> None:
        subs, deliveries = platform.event_subscriptions, platform.outbox_deliveries
        await self.session.execute(update(subs).where(subs.c.id == subscription_id).values(active=False))
        # Nothing more goes to a deleted webhook: pending deliveries are dead-lettered, history is kept.
        await self.session.execute(
            update(deliveries)
            .where(deliveries.c.subscription_id == subscription_id, deliveries.c.status == "pending")
            .values(status="dead", last_error="webhook deleted")
        )

    async def deliveries(self, subscription_id: uuid.UUID, *, window: Window) -> Slice[dict[str, Any]]:
        """A page of a webhook's delivery log, newest first, each delivery with its attempts."""
        d, e, a = platform.outbox_deliveries, platform.outbox_events, platform.delivery_attempts
        query = (
            select(
                d.c.id,
                d.c.event_id,
                e.c.type.label("event_type"),
                d.c.subject,
                d.c.status,
                d.c.attempts,
                d.c.created_at,
                d.c.next_attempt_at,
                d.c.delivered_at,
                d.c.last_status_code,
                d.c.last_error,
            )
            .join(e, e.c.id == d.c.event_id)
            .where(d.c.subscription_id == subscription_id)
        )
        query = window.apply(query, (SortKey(d.c.id, descending=True),))
        page = Slice.of(window, [dict(r._mapping) for r in (await self.session.execute(query)).all()])
        ids = [r["id"] for r in page.rows]
        attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            found = await self.session.execute(
                select(a.c.delivery_id, a.c.attempted_at, a.c.status_code, a.c.error, a.c.duration_ms)
                .where(a.c.delivery_id.in_(ids))
                .order_by(a.c.id)
            )
            for attempt in found.all():
                values = dict(attempt._mapping)
                attempts[values.pop("delivery_id")].append(values)
        for row in page.rows:
            row["attempt_log"] = attempts[row["id"]]
        return page
