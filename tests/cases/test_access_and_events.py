"""Access rules, the audit log, plan ETags and the referral.accepted consumer (in rolled-back transactions)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import Case, FamilyMember, Plan
from cases.seed import seed_demo, worker_id
from tests.cases.conftest import (
    ASSESSMENT,
    World,
    assign,
    open_family_case,
    plan_body,
    post_event,
    put_team,
    referral_event,
)
from tests.support import auth, make_token
from tests.support.factories import upn as make_upn


async def test_access_rules(client: httpx.AsyncClient, world: World) -> None:
    family_id, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead, other, partner_worker = (world.practitioner(w) for w in (world.lead, world.other, world.partner))

    # partner systems see nothing here
    partner = auth(make_token("partner_system", agency="SCH-LS-001", agency_type="school"))
    for path in (f"/v1/families?ids={family_id}", f"/v1/cases?ids={case_id}", f"/v1/cases/{case_id}"):
        assert (await client.get(path, headers=partner)).status_code == 403
    # the service role may match and send events, but not read cases
    service = auth(make_token("service", sub="service:referrals"))
    assert (await client.get(f"/v1/cases/{case_id}", headers=service)).status_code == 403

    # the lead worker sees the case and family; another practitioner does not, nor another hub's manager
    assert (await client.get(f"/v1/cases/{case_id}", headers=lead)).status_code == 200
    assert (await client.get(f"/v1/cases/{case_id}", headers=other)).status_code == 404
    assert (await client.get(f"/v1/families?ids={family_id}", headers=other)).json()["items"] == []
    south = auth(make_token("hub_manager", sub="mgr-south", hubs=["south"]))
    assert (await client.get(f"/v1/cases?family_ids={family_id}", headers=south)).json()["items"] == []
    assert (await client.post(f"/v1/cases/{case_id}/contacts", json=_note(False), headers=other)).status_code == 404

    # a worker in the team around the family reads and writes, but not sensitive notes
    assert (await client.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    assert (await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)).status_code == 200
    team = await put_team(client, case_id, [(world.partner, "school attendance lead")], lead)
    assert team.status_code == 200, team.text
    assert (await client.get(f"/v1/cases/{case_id}", headers=partner_worker)).status_code == 200
    assert (
        await client.post(f"/v1/cases/{case_id}/contacts", json=_note(False), headers=partner_worker)
    ).status_code == 201
    assert (await client.post(f"/v1/cases/{case_id}/contacts", json=_note(True), headers=lead)).status_code == 201
    seen_by_team = (await client.get(f"/v1/contacts?case_ids={case_id}", headers=partner_worker)).json()["items"]
    seen_by_lead = (await client.get(f"/v1/cases/{case_id}/contacts", headers=lead)).json()["items"]
    seen_by_manager = (await client.get(f"/v1/contacts?case_ids={case_id}", headers=world.manager())).json()["items"]
    assert [c["sensitive"] for c in seen_by_team] == [False]
    assert sorted(c["sensitive"] for c in seen_by_lead) == [False, True]
    assert len(seen_by_manager) == 2
    # only the hub's managers (or the lead) assign, and only managers override the cap
    response = await client.post(
        f"/v1/cases/{case_id}/lead-worker",
        json={"worker_id": str(world.other.id), "reason": "handover", "override_cap": True},
        headers=lead,
    )
    assert response.status_code == 403
    response = await client.post(
        f"/v1/cases/{case_id}/lead-worker",
        json={"worker_id": str(world.other.id), "reason": "x"},
        headers=partner_worker,
    )
    assert response.status_code == 403


async def test_every_read_of_a_family_or_person_is_audited(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    family_id, _ = await open_family_case(client, world)
    family = (await client.get(f"/v1/families?ids={family_id}", headers=world.manager())).json()["items"][0]
    person_ids = [m["person"]["id"] for m in family["members"]]
    people = (await client.get(f"/v1/people?ids={','.join(person_ids)}", headers=world.manager())).json()["items"]
    assert sorted(p["id"] for p in people) == sorted(person_ids)
    async with cases_sessions() as session:
        rows = (
            await session.execute(
                text("SELECT record_type, record_id, action FROM audit_log WHERE actor = :a AND action = 'read'"),
                {"a": f"{world.manager_sub}@LCC"},
            )
        ).all()
    assert ("family", family_id, "read") in rows
    for person_id in person_ids:
        assert sum(1 for r in rows if r == ("person", person_id, "read")) >= 2  # via the family, and directly


async def test_plan_if_match_rules(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, case_id = await open_family_case(client, world)
    manager = world.manager()
    assert (await client.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=manager)).status_code == 201
    bad = plan_body()
    bad["goals"][0]["need"] = "crime"
    response = await client.put(f"/v1/cases/{case_id}/plan", json=bad, headers=manager)
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/goals/0/need"

    first = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(summary="v1"), headers=manager)
    v1 = first.headers["etag"]
    second = await client.put(
        f"/v1/cases/{case_id}/plan", json=plan_body(summary="v2"), headers={**manager, "If-Match": v1}
    )
    assert second.status_code == 200
    stale = await client.put(
        f"/v1/cases/{case_id}/plan", json=plan_body(summary="lost?"), headers={**manager, "If-Match": v1}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    missing = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(summary="no etag"), headers=manager)
    assert missing.status_code == 428
    current = await client.get(f"/v1/cases/{case_id}/plan", headers=manager)
    assert current.json()["change_summary"] == "v2" and current.headers["etag"] == second.headers["etag"]
    async with cases_sessions() as session:
        versions = (
            await session.scalars(select(Plan).where(Plan.case_id == uuid.UUID(case_id)).order_by(Plan.version))
        ).all()
        assert [(p.version, p.active, p.change_summary) for p in versions] == [(1, False, "v1"), (2, True, "v2")]


async def test_referral_accepted_opens_then_joins_and_redelivery_is_a_no_op(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    upn = make_upn(31)
    first = referral_event(upn=upn)
    assert (await post_event(client, first)).json()["status"] == "processed"
    assert (await post_event(client, first)).json()["status"] == "duplicate"
    # the same referral under a new event id changes nothing either
    same_referral = referral_event(upn=upn, referral_id=first["data"]["referral_id"])
    assert (await post_event(client, same_referral)).json()["status"] == "processed"
    # a second referral for the same pupil joins the open case; a maternity referral adds the unborn baby
    second = referral_event(upn=upn)
    second["data"]["expected_delivery_date"] = "2027-03-01"
    assert (await post_event(client, second)).json()["status"] == "processed"

    async with cases_sessions() as session:
        cases = (await session.scalars(select(Case))).all()
        assert len(cases) == 1 and cases[0].status == "open" and cases[0].hub == "north"
        members = (
            await session.scalars(select(FamilyMember).where(FamilyMember.family_id == cases[0].family_id))
        ).all()
        assert sorted(m.role for m in members) == ["child", "parent_carer", "unborn"]
        events = (
            await session.execute(text("SELECT type, data FROM outbox_events WHERE type LIKE 'case.%' ORDER BY time"))
        ).all()
        assert [e.type for e in events] == ["case.opened", "case.joined"]
        assert events[0].data["referral_id"] == first["data"]["referral_id"]
        assert set(events[0].data) == {"case_id", "family_id", "hub", "referral_id", "opened_at"}
    # a badly signed delivery is refused
    response = await client.post("/v1/events", json=referral_event(), headers={"webhook-id": "x"})
    assert response.status_code == 401


async def test_demo_seed_is_deterministic_and_idempotent(cases_sessions: async_sessionmaker[AsyncSession]) -> None:
    async with cases_sessions() as session:
        first = await seed_demo(session, seed=7)
        second = await seed_demo(session, seed=7)
        assert first == second
        assert first["hubs"] == 3 and first["cases"] == 15
        statuses = dict((await session.execute(select(Case.status, func.count()).group_by(Case.status))).all())
        assert statuses == {s: 3 for s in ("open", "assessment", "plan", "review", "closed")}
        assert worker_id(7, "north", 1) == worker_id(7, "north", 1) != worker_id(8, "north", 1)


def _note(sensitive: bool) -> dict[str, object]:
    return {"kind": "visit", "occurred_at": "2026-11-20T10:00:00Z", "note": "home visit", "sensitive": sensitive}
