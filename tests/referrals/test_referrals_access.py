"""Access: a partner sees only its agency's referrals (others' ids are 404), a hub manager their hubs'."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import platform
from tests.referrals.conftest import admin, create_maternity, hub_manager, partner, person
from tests.support import auth, make_token


async def test_partner_cannot_read_another_agencys_referral(client: httpx.AsyncClient) -> None:
    mine = (await create_maternity(client, headers=partner("MAT-LTH"))).json()
    theirs = (await create_maternity(client, headers=partner("MAT-OTHER"))).json()
    assert (await client.get(f"/v1/referrals/{mine['id']}", headers=partner("MAT-LTH"))).status_code == 200
    stolen = await client.get(f"/v1/referrals/{theirs['id']}", headers=partner("MAT-LTH"))
    assert stolen.status_code == 404
    assert stolen.json()["status"] == 404
    unknown = await client.get(f"/v1/referrals/{uuid.uuid4()}", headers=partner("MAT-LTH"))
    assert unknown.json()["detail"].startswith("No referral")
    listed = (await client.get("/v1/referrals", headers=partner("MAT-LTH"))).json()["items"]
    assert {r["agency"] for r in listed} == {"MAT-LTH"}
    batch = await client.get(
        "/v1/referrals", params={"ids": f"{mine['id']},{theirs['id']}"}, headers=partner("MAT-LTH")
    )
    assert [r["id"] for r in batch.json()["items"]] == [mine["id"]]
    # asking for the other agency explicitly still shows nothing
    filtered = await client.get("/v1/referrals", params={"agency": "MAT-OTHER"}, headers=partner("MAT-LTH"))
    assert filtered.json()["items"] == []


async def test_partner_cannot_decide_or_withdraw_others(client: httpx.AsyncClient) -> None:
    theirs = (await create_maternity(client, headers=partner("MAT-OTHER"))).json()
    decide = await client.post(
        f"/v1/referrals/{theirs['id']}/decision",
        headers=partner("MAT-LTH"),
        json={"outcome": "accepted", "reason": "x"},
    )
    assert decide.status_code == 403
    withdraw = await client.post(f"/v1/referrals/{theirs['id']}/withdraw", headers=partner("MAT-LTH"))
    assert withdraw.status_code == 404


async def test_hub_manager_sees_and_decides_only_their_hubs(client: httpx.AsyncClient) -> None:
    north = (await create_maternity(client, expectant_parent=person(postcode="LS6 2AB"))).json()
    south = (await create_maternity(client, expectant_parent=person(postcode="LS10 1AB"))).json()
    assert (north["hub"], south["hub"]) == ("north", "south")
    manager = hub_manager("north")
    assert (await client.get(f"/v1/referrals/{north['id']}", headers=manager)).status_code == 200
    assert (await client.get(f"/v1/referrals/{south['id']}", headers=manager)).status_code == 404
    decision = await client.post(
        f"/v1/referrals/{south['id']}/decision", headers=manager, json={"outcome": "signposted", "reason": "x"}
    )
    assert decision.status_code == 404
    hubs = {r["hub"] for r in (await client.get("/v1/referrals", headers=manager)).json()["items"]}
    assert hubs == {"north"}
    assert (await client.get(f"/v1/referrals/{south['id']}", headers=admin())).status_code == 200
    both = hub_manager("north", "south")
    assert (await client.get(f"/v1/referrals/{south['id']}", headers=both)).status_code == 200


async def test_roles_without_access_are_403(client: httpx.AsyncClient) -> None:
    for role in ("analyst", "auditor"):
        response = await client.get("/v1/referrals", headers=auth(make_token(role, agency="LCC")))
        assert response.status_code == 403
    assert (await client.get("/v1/referrals")).status_code == 401


async def test_every_read_is_audited(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    rid = (await create_maternity(client)).json()["id"]
    await client.get(f"/v1/referrals/{rid}", headers=hub_manager("north"))
    await client.get("/v1/referrals", params={"ids": rid}, headers=partner())
    a = platform.audit_log
    async with referrals_sessions() as session:
        rows = (
            await session.execute(
                select(a.c.action, a.c.actor, a.c.purpose).where(a.c.record_id == rid).order_by(a.c.seq)
            )
        ).all()
    assert [(r.action, r.purpose) for r in rows] == [
        ("create", "referral intake"),
        ("read", "view referral"),
        ("read", "list referrals"),
    ]
    assert rows[1].actor == "test-hub_manager@LCC"
