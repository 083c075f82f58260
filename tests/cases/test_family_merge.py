"""Family merge and unmerge (issue 17): one family, one case; every record kept; undo restores both families."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import Case, FamilyMember, LeadWorkerAssignment
from tests.cases.conftest import World, assign, family_body, open_family_case
from tests.support import auth, make_token
from tests.support.factories import upn as make_upn


async def snapshot(sessions: async_sessionmaker[AsyncSession], *family_ids: str) -> dict[str, object]:
    ids = [uuid.UUID(f) for f in family_ids]
    async with sessions() as session:
        cases = (await session.scalars(select(Case).where(Case.family_id.in_(ids)))).all()
        members = (await session.scalars(select(FamilyMember).where(FamilyMember.family_id.in_(ids)))).all()
        leads = (
            await session.scalars(
                select(LeadWorkerAssignment).where(LeadWorkerAssignment.case_id.in_([c.id for c in cases]))
            )
        ).all()
        return {
            "cases": sorted((str(c.id), str(c.family_id), c.status, c.outcome) for c in cases),
            "members": sorted((str(m.id), str(m.family_id), str(m.person_id), m.left_on) for m in members),
            "leads": sorted((str(a.id), a.ended_at) for a in leads),
        }


async def test_merging_two_families_with_open_cases_keeps_one_case_and_undo_restores_both(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    horton, horton_case = await open_family_case(client, world, upn=make_upn(31), family_name="Horton")
    hortin, hortin_case = await open_family_case(client, world, upn=make_upn(32), family_name="Hortin")
    assert (await assign(client, world, horton_case, world.lead)).status_code in (200, 201)
    assert (await assign(client, world, hortin_case, world.other)).status_code in (200, 201)
    before = await snapshot(cases_sessions, horton, hortin)
    contact = await client.post(
        f"/v1/cases/{hortin_case}/contacts",
        json={"kind": "visit", "occurred_at": "2026-11-30T10:00:00Z", "note": "met the family"},
        headers=world.practitioner(world.other),
    )
    assert contact.status_code == 201, contact.text

    merged = await client.post(
        f"/v1/families/{horton}/merge",
        json={"merge_family_id": hortin, "reason": "the same family, a misspelt referral"},
        headers={**world.manager(), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert merged.status_code == 201, merged.text
    moved = merged.json()["moved"]
    assert moved["surviving_case"] == horton_case and moved["case_closed"]["id"] == hortin_case
    async with cases_sessions() as session:
        cases = {
            str(c.id): c for c in (await session.scalars(select(Case).where(Case.family_id == uuid.UUID(horton)))).all()
        }
        assert set(cases) == {horton_case, hortin_case}  # the closed case is readable from the surviving family
        assert cases[horton_case].status != "closed"
        assert (cases[hortin_case].status, cases[hortin_case].outcome) == ("closed", "merged")
        current_leads = (
            await session.scalars(
                select(LeadWorkerAssignment.case_id).where(
                    LeadWorkerAssignment.case_id.in_([c.id for c in cases.values()]),
                    LeadWorkerAssignment.ended_at.is_(None),
                )
            )
        ).all()
        assert [str(c) for c in current_leads] == [horton_case]  # one lead
    family = (await client.get(f"/v1/families/{horton}", headers=world.manager())).json()
    assert {m["person"]["family_name"] for m in family["members"]} == {"Horton", "Hortin"}
    contacts = await client.get(f"/v1/cases/{hortin_case}/contacts", headers=world.manager())
    assert contacts.status_code == 200 and len(contacts.json()["items"]) == 1

    again = await client.post(
        f"/v1/families/{horton}/merge", json={"merge_family_id": hortin, "reason": "again"}, headers=world.manager()
    )
    assert again.status_code == 409
    history = (await client.get(f"/v1/families/{hortin}/merges", headers=world.manager())).json()["items"]
    assert [h["id"] for h in history] == [merged.json()["id"]]

    undone = await client.post(
        f"/v1/families/merges/{merged.json()['id']}/undo", json={"reason": "two families after all"},
        headers=world.manager(),
    )  # fmt: skip
    assert undone.status_code == 200, undone.text
    assert await snapshot(cases_sessions, horton, hortin) == before
    again = await client.post(
        f"/v1/families/merges/{merged.json()['id']}/undo", json={"reason": "twice"}, headers=world.manager()
    )
    assert again.status_code == 409


async def test_family_merge_is_for_the_managers_of_both_families(client: httpx.AsyncClient, world: World) -> None:
    north, _ = await open_family_case(client, world, upn=make_upn(33))
    both = auth(
        make_token("hub_manager", sub=world.manager_sub, agency="LCC", agency_type="council", hubs=["north", "south"])
    )
    created = await client.post("/v1/families", json=family_body(upn=make_upn(34), hub="south"), headers=both)
    assert created.status_code == 201, created.text
    south = created.json()["id"]
    north_only = world.manager()
    body = {"merge_family_id": south, "reason": "duplicate"}
    assert (await client.post(f"/v1/families/{north}/merge", json=body, headers=north_only)).status_code == 404
    body = {"merge_family_id": str(uuid.uuid4()), "reason": "duplicate"}
    assert (await client.post(f"/v1/families/{north}/merge", json=body, headers=north_only)).status_code == 404
    body = {"merge_family_id": north, "reason": "itself"}
    response = await client.post(f"/v1/families/{north}/merge", json=body, headers=north_only)
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/merge_family_id"
    body = {"merge_family_id": south, "reason": "duplicate"}
    practitioner = world.practitioner(world.lead)
    assert (await client.post(f"/v1/families/{north}/merge", json=body, headers=practitioner)).status_code == 403
