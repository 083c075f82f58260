"""The triage queue and the identity review queue page both ways: forward with `cursor`, backward with `before`
(or from the end), the same items in the same order; both directions at once are a 422 naming `before`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import Referral, ReferralPerson
from shared.pagination import encode_cursor
from tests.referrals.conftest import admin, create_maternity, hub_manager
from tests.support.paging import Lister, page_plan


async def _referrals(client: httpx.AsyncClient, count: int) -> list[str]:
    created = []
    for i in range(count):
        response = await create_maternity(client, safeguarding_concern=i % 3 == 0)
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    return created


async def test_the_triage_queue_pages_backward_as_it_pages_forward(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await _referrals(client, 9)
    async with referrals_sessions() as session:  # ties on received_at: the id decides
        same = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        await session.execute(update(Referral).where(Referral.id.in_(created[:4])).values(received_at=same))
        await session.commit()
    queue = Lister(client, "/v1/referrals", admin(), {"status": "received"})
    await queue.check_both_ways(2, created)
    forward = await queue.forward(2)
    flags = [r["safeguarding_concern"] for r in (await queue.page(100))["items"]]
    assert flags == sorted(flags, reverse=True), "safeguarding concerns first, in both directions"
    assert forward == await queue.backward(4)

    empty = await queue.page(2, cursor="", before="")  # an empty cursor is no cursor, as it always was
    assert empty["items"] == (await queue.page(2))["items"] and empty["has_previous"] is False

    naive = encode_cursor(True, "2026-11-02T09:00:00", uuid.uuid4())
    not_a_flag = encode_cursor("yes", "2026-11-02T09:00:00+00:00", uuid.uuid4())
    for cursor in (naive, not_a_flag):
        refused = await queue.get(2, before=cursor)
        assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#query/before"


async def test_a_page_of_the_triage_queue_is_read_off_its_index(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The queue's order (safeguarding concerns first, then oldest, then id) is its index's: a page, first or after
    a cursor, forward or backward, is an index scan that stops after it, never a sort of the referrals."""
    await _referrals(client, 3)
    first = await client.get("/v1/referrals", params={"limit": 2}, headers=admin())
    cursor = first.json()["cursors"][-1]
    for params in ({}, {"cursor": cursor}, {"before": cursor}, {"from_end": "true"}, {"status": "received"}):
        plan = await page_plan(
            referrals_sessions, "referrals", client.get("/v1/referrals", params={"limit": 2, **params}, headers=admin())
        )
        scans = ("Index Scan using ix_referrals_queue " in plan) or (
            "Index Scan Backward using ix_referrals_queue " in plan
        )
        assert scans and "Sort" not in plan, (params, plan)


async def test_the_identity_review_queue_pages_backward_as_it_pages_forward(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await _referrals(client, 5)
    async with referrals_sessions() as session:
        await session.execute(
            update(ReferralPerson).where(ReferralPerson.referral_id.in_(created)).values(match_status="candidates")
        )
        start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        for n, referral_id in enumerate(created):
            at = start + timedelta(minutes=n // 2)  # pairs share a time: the person id decides
            await session.execute(update(Referral).where(Referral.id == referral_id).values(received_at=at))
        await session.commit()
    reviews = Lister(
        client, "/v1/identity-reviews", hub_manager("north"), key=lambda item: (item["referral_id"], item["ref"])
    )
    whole = (await reviews.page(100))["items"]
    assert {item["referral_id"] for item in whole} == set(created)
    times = [item["received_at"] for item in whole]
    assert times == sorted(times), "oldest first"
    await reviews.check_both_ways(2, [reviews.key(item) for item in whole])
