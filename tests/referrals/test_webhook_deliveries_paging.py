"""A webhook's delivery log pages with `shared.pagination` like the other lists: newest first, forward with
`cursor`, backward with `before` (or from the end), the same deliveries in the same order; a decimal cursor issued
before the log used opaque cursors still resumes after that delivery; bad cursors are 422s naming the parameter."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import platform
from tests.referrals.conftest import partner
from tests.support.paging import Lister


async def _deliveries(sessions: async_sessionmaker[AsyncSession], webhook_id: str, count: int) -> list[int]:
    """Deliveries to the webhook as the outbox stores them, oldest first."""
    async with sessions() as session:
        ids = []
        for n in range(count):
            event_id = uuid.uuid4()
            await session.execute(
                insert(platform.outbox_events).values(
                    id=event_id, type="referral.status_changed", source="referrals", subject=f"s{n}", data={}
                )
            )
            delivery = await session.execute(
                insert(platform.outbox_deliveries)
                .values(event_id=event_id, subscription_id=uuid.UUID(webhook_id), subject=f"s{n}")
                .returning(platform.outbox_deliveries.c.id)
            )
            ids.append(delivery.scalar_one())
        await session.commit()
    return ids


async def test_deliveries_page_both_ways_and_old_cursors_still_work(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post("/v1/webhooks", json={"url": "https://partner.example/hook"}, headers=partner())
    assert created.status_code == 201, created.text
    webhook = created.json()["id"]
    ids = await _deliveries(referrals_sessions, webhook, 7)
    newest_first = sorted(ids, reverse=True)
    deliveries = Lister(client, f"/v1/webhooks/{webhook}/deliveries", partner())
    await deliveries.check_both_ways(2, newest_first)
    assert await deliveries.forward(3) == newest_first

    legacy = await deliveries.page(2, cursor=str(newest_first[1]))
    assert [d["id"] for d in legacy["items"]] == newest_first[2:4], "a decimal cursor resumes after that delivery"
    assert legacy["has_previous"] is True
    for bad in ("0" * 19, "-1", "1.5"):
        refused = await deliveries.get(2, cursor=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["#query/cursor"]
    too_big = await deliveries.get(2, before="WzkyMjMzNzIwMzY4NTQ3NzU4MDhd")  # [9223372036854775808]
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["pointer"] == "#query/before"
