"""The list endpoint: filters, cursor pagination and batch lookups."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import Referral
from tests.referrals.conftest import admin, create_maternity, create_school


async def test_cursor_pagination_walks_every_referral_once(client: httpx.AsyncClient) -> None:
    created = {(await create_maternity(client, safeguarding_concern=i % 3 == 0)).json()["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/referrals", params=params, headers=admin())).json()
        seen += [r["id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert created <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages >= 3
    bad = await client.get("/v1/referrals", params={"cursor": "garbage"}, headers=admin())
    assert bad.status_code == 422


async def test_filters(client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]) -> None:
    maternity = (await create_maternity(client)).json()
    school = (await create_school(client)).json()
    async with referrals_sessions() as session:
        await session.execute(
            update(Referral)
            .where(Referral.id == school["id"])
            .values(received_at=datetime.now(UTC) - timedelta(days=30))
        )
        await session.commit()

    async def ids(**params: str) -> set[str]:
        response = await client.get("/v1/referrals", params=params, headers=admin())
        assert response.status_code == 200, response.text
        return {r["id"] for r in response.json()["items"]}

    assert maternity["id"] in await ids(kind="maternity")
    assert school["id"] not in await ids(kind="maternity")
    assert school["id"] in await ids(hub="south", agency="SCH-LS-001")
    assert maternity["id"] not in await ids(hub="south")
    today = datetime.now(UTC).date()
    recent = await ids(received_from=(today - timedelta(days=1)).isoformat(), received_to=today.isoformat())
    assert maternity["id"] in recent
    assert school["id"] not in recent
    assert school["id"] in await ids(received_to=(today - timedelta(days=29)).isoformat())
    assert maternity["id"] in await ids(status="received,screening")
    assert maternity["id"] not in await ids(status="accepted")
    assert maternity["id"] in await ids(matching="pending")
    bad = await client.get("/v1/referrals", params={"status": "lost"}, headers=admin())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "#query/status"
    assert (await client.get("/v1/referrals", params={"limit": 101}, headers=admin())).status_code == 422


async def test_batch_lookups_by_ids_and_family_ids(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    a = (await create_maternity(client)).json()["id"]
    b = (await create_maternity(client)).json()["id"]
    family = uuid.uuid4()
    async with referrals_sessions() as session:
        await session.execute(update(Referral).where(Referral.id == b).values(family_id=family, case_id=uuid.uuid4()))
        await session.commit()
    found = (await client.get("/v1/referrals", params={"ids": f"{a},{b},{uuid.uuid4()}"}, headers=admin())).json()
    assert {r["id"] for r in found["items"]} == {a, b}
    by_family = (await client.get("/v1/referrals", params={"family_ids": str(family)}, headers=admin())).json()
    assert [r["id"] for r in by_family["items"]] == [b]
    assert by_family["items"][0]["family_id"] == str(family)
    bad = await client.get("/v1/referrals", params={"ids": "x,y"}, headers=admin())
    assert bad.status_code == 422
    too_many = ",".join(str(uuid.uuid4()) for _ in range(101))
    assert (await client.get("/v1/referrals", params={"ids": too_many}, headers=admin())).status_code == 422
