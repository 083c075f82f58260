"""Need-to-know, round two (issue 19): ids in request bodies, who writes the plan and assessment, back-dating.

Every refusal is paired with the same request succeeding for someone entitled to it, so a 404 or 403 cannot
come from a malformed request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import CaseReferral, Family, FamilyMember
from tests.cases.conftest import (
    ASSESSMENT,
    World,
    assign,
    family_body,
    open_family_case,
    plan_body,
    post_event,
    put_team,
    referral_event,
)
from tests.support import auth, make_token
from tests.support.factories import upn as make_upn


def south_manager() -> dict[str, str]:
    return auth(make_token("hub_manager", sub="manager-south", agency="LCC", agency_type="council", hubs=["south"]))


async def south_family(client: httpx.AsyncClient) -> tuple[str, str]:
    """A family of the south hub; returns (family_id, the parent's person id) — Sally, in the issue."""
    body = family_body(upn=make_upn(9101), hub="south", family_name="Sallis")
    response = await client.post("/v1/families", json=body, headers=south_manager())
    assert response.status_code == 201, response.text
    family = response.json()
    return family["id"], next(m["person"]["id"] for m in family["members"] if m["role"] == "parent_carer")


async def members_of(sessions: async_sessionmaker[AsyncSession], person_id: str) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(FamilyMember.family_id, FamilyMember.left_reason).where(
                FamilyMember.person_id == uuid.UUID(person_id)
            )
        )
        return sorted((str(f), r) for f, r in rows)


def same_refusal(refused: httpx.Response, unknown: httpx.Response) -> None:
    assert refused.status_code == unknown.status_code == 404, (refused.text, unknown.text)
    assert refused.headers["content-type"] == "application/problem+json"
    volatile = ("request_id", "instance")
    assert {k: v for k, v in refused.json().items() if k not in volatile} == {
        k: v for k, v in unknown.json().items() if k not in volatile
    }


async def test_a_person_id_in_a_body_is_scope_checked_like_a_path_id(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Finding A: another hub's person, named in a body, is the same 404 as an unknown id; nothing changes."""
    south_id, sally = await south_family(client)
    before = await members_of(cases_sessions, sally)
    north = world.manager()
    # the north manager cannot read Sally directly...
    assert (await client.get("/v1/people", params={"ids": sally}, headers=north)).json()["items"] == []

    # ... nor by creating a family around her (and an unknown id answers exactly the same)
    def body(person_id: str) -> dict[str, Any]:
        return {"name": "Probe family", "hub": "north", "members": [{"role": "parent_carer", "person_id": person_id}]}

    refused = await client.post("/v1/families", json=body(sally), headers=north)
    unknown = await client.post("/v1/families", json=body(str(uuid.uuid4())), headers=north)
    same_refusal(refused, unknown)
    assert refused.json()["pointer"] == "/members/0/person_id"
    assert "1988-05-01" not in refused.text and "LS1 4AB" not in refused.text
    async with cases_sessions() as session:
        assert await session.scalar(select(func.count()).where(Family.name == "Probe family")) == 0

    # ... nor by adding her to a family of their own (manager) or of their caseload (lead practitioner)
    own_id, case_id = await open_family_case(client, world, upn=make_upn(9102), family_name="Norris")
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    for headers in (north, world.practitioner(world.lead)):
        refused = await client.post(
            f"/v1/families/{own_id}/members", json={"role": "other_adult", "person_id": sally}, headers=headers
        )
        unknown = await client.post(
            f"/v1/families/{own_id}/members",
            json={"role": "other_adult", "person_id": str(uuid.uuid4())},
            headers=headers,
        )
        same_refusal(refused, unknown)
    assert await members_of(cases_sessions, sally) == before

    # ... nor by merging her into one of their people (Nora): 404, and the south family keeps Sally
    own = (await client.get(f"/v1/families/{own_id}", headers=north)).json()
    nora = next(m["person"]["id"] for m in own["members"] if m["role"] == "parent_carer")
    refused = await client.post(
        f"/v1/people/{nora}/merge", json={"merge_person_id": sally, "reason": "probe"}, headers=north
    )
    unknown = await client.post(
        f"/v1/people/{nora}/merge", json={"merge_person_id": str(uuid.uuid4()), "reason": "probe"}, headers=north
    )
    same_refusal(refused, unknown)
    assert await members_of(cases_sessions, sally) == before
    south = (await client.get(f"/v1/families/{south_id}", headers=south_manager())).json()
    assert sally in {m["person"]["id"] for m in south["members"] if m["person"]}

    # the same requests succeed for someone entitled: the north manager adds their own person by id
    second = await client.post(
        "/v1/families",
        json={"name": "Second family", "hub": "north", "members": [{"role": "parent_carer", "person_id": nora}]},
        headers=north,
    )
    assert second.status_code == 201, second.text


async def test_an_already_merged_person_of_another_hub_is_no_oracle(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A merged duplicate's survivor must be visible too: otherwise 409 'already merged' tells the id exists."""
    family_id, sally = await south_family(client)
    # her duplicate, recorded again in her own family (people in two families are merged family first)
    twin = await client.post(
        f"/v1/families/{family_id}/members",
        json={"role": "parent_carer", "person": {"given_name": "Sally", "family_name": "Sallis",
                                                 "date_of_birth": "1988-05-01", "postcode": "LS1 4AB"}},
        headers=south_manager(),
    )  # fmt: skip
    assert twin.status_code == 201, twin.text
    sally_twin = next(m["person"]["id"] for m in twin.json()["members"] if m["person"]["id"] != sally
                      and m["role"] == "parent_carer")  # fmt: skip
    merged = await client.post(
        f"/v1/people/{sally}/merge", json={"merge_person_id": sally_twin, "reason": "same"}, headers=south_manager()
    )
    assert merged.status_code == 201, merged.text

    own_id, _ = await open_family_case(client, world, upn=make_upn(9104), family_name="Norris")
    own = (await client.get(f"/v1/families/{own_id}", headers=world.manager())).json()
    nora = next(m["person"]["id"] for m in own["members"] if m["role"] == "parent_carer")
    refused = await client.post(
        f"/v1/people/{nora}/merge", json={"merge_person_id": sally_twin, "reason": "probe"}, headers=world.manager()
    )
    unknown = await client.post(
        f"/v1/people/{nora}/merge",
        json={"merge_person_id": str(uuid.uuid4()), "reason": "probe"},
        headers=world.manager(),
    )
    same_refusal(refused, unknown)
    # the south manager, who sees the survivor, is told why
    again = await client.post(
        f"/v1/people/{sally}/merge", json={"merge_person_id": sally_twin, "reason": "again"}, headers=south_manager()
    )
    assert again.status_code == 409


async def planned_case(client: httpx.AsyncClient, world: World, upn: str) -> tuple[str, str]:
    """A case led by `world.lead`, assessed and planned, with `world.partner` in the team; (family_id, case_id)."""
    family_id, case_id = await open_family_case(client, world, upn=upn, family_name="Teague")
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    assert (await client.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    assert (await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)).status_code == 200
    team = await put_team(client, case_id, [(world.partner, "school attendance lead")], lead)
    assert team.status_code == 200, team.text
    return family_id, case_id


async def test_a_team_member_reads_and_adds_contacts_but_does_not_rewrite_the_case(
    client: httpx.AsyncClient, world: World
) -> None:
    """Finding D: the team around the family reads the case and adds contacts; the plan, the assessment, reviews,
    the family and the team itself are the lead worker's and the hub managers' to change."""
    family_id, case_id = await planned_case(client, world, make_upn(9201))
    member = world.practitioner(world.partner)
    case_before = (await client.get(f"/v1/cases/{case_id}", headers=member)).json()
    plan_before = await client.get(f"/v1/cases/{case_id}/plan", headers=member)
    assert plan_before.status_code == 200
    etag = plan_before.headers["ETag"]
    note = {"kind": "visit", "occurred_at": "2026-11-20T10:00:00Z", "note": "school visit"}
    assert (await client.post(f"/v1/cases/{case_id}/contacts", json=note, headers=member)).status_code == 201

    refused = [
        await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(summary="mine"),
                         headers={**member, "If-Match": etag}),
        await client.post(f"/v1/cases/{case_id}/assessment", json={**ASSESSMENT, "needs": ASSESSMENT["needs"][:1]},
                          headers=member),
        await client.post(f"/v1/cases/{case_id}/reviews", json={"summary": "mine"}, headers=member),
        await put_team(client, case_id, [(world.partner, "everything")], member),
        await client.post(f"/v1/families/{family_id}/members",
                          json={"role": "unborn", "expected_on": "2027-04-01"}, headers=member),
    ]  # fmt: skip
    for response in refused:
        assert response.status_code == 403, (response.request.url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # nothing changed: the same plan version, the same assessment (and eligibility), the same team
    plan_after = await client.get(f"/v1/cases/{case_id}/plan", headers=member)
    assert plan_after.headers["ETag"] == etag and plan_after.json()["reviews"] == []
    assert plan_after.json()["team"] == [{"worker_id": str(world.partner.id), "role": "school attendance lead"}]
    assert (await client.get(f"/v1/cases/{case_id}", headers=member)).json()["assessment"] == case_before["assessment"]
    # an outsider is not told the case exists
    outsider = world.practitioner(world.other)
    assert (await put_team(client, case_id, [(world.other, "me")], outsider)).status_code == 404


async def test_the_team_is_not_part_of_the_plan_and_changes_to_it_are_audited(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Finding D: `team` in a plan body is refused, naming the field; the team is its own audited operation."""
    _, case_id = await planned_case(client, world, make_upn(9202))
    lead = world.practitioner(world.lead)
    etag = (await client.get(f"/v1/cases/{case_id}/plan", headers=lead)).headers["ETag"]
    response = await client.put(
        f"/v1/cases/{case_id}/plan",
        json={**plan_body(summary="v2"), "team": [{"worker_id": str(world.lead.id), "role": "all"}]},
        headers={**lead, "If-Match": etag},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in response.json()["errors"]] == ["/team"]
    assert "PUT /v1/cases/{case_id}/team" in response.json()["errors"][0]["detail"]
    # a plan without a team keeps the team (and shows it, in the same shape as before)
    v2 = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(summary="v2"), headers={**lead, "If-Match": etag})
    assert v2.status_code == 200, v2.text
    assert v2.json()["version"] == 2
    assert v2.json()["team"] == [{"worker_id": str(world.partner.id), "role": "school attendance lead"}]
    # a plan written back as it was read (with the current team) is fine: the team did not change
    as_read = {**plan_body(summary="v3"), "team": v2.json()["team"]}
    v3 = await client.put(f"/v1/cases/{case_id}/plan", json=as_read, headers={**lead, "If-Match": v2.headers["ETag"]})
    assert v3.status_code == 200, v3.text
    assert v3.json()["version"] == 3 and v3.json()["team"] == v2.json()["team"]
    # an empty team is a change too (it would remove the partner), refused the same way
    emptied = {**plan_body(summary="v4"), "team": []}
    response = await client.put(f"/v1/cases/{case_id}/plan", json=emptied, headers={**lead, "If-Match": "*"})
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/team"

    # the hub manager changes the team: the partner leaves (and loses access), another worker joins
    changed = await put_team(client, case_id, [(world.other, "family support")], world.manager())
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "case_id": case_id,
        "team": [{"worker_id": str(world.other.id), "role": "family support"}],
    }
    assert (await client.get(f"/v1/cases/{case_id}", headers=world.practitioner(world.partner))).status_code == 404
    assert (await client.get(f"/v1/cases/{case_id}", headers=world.practitioner(world.other))).status_code == 200
    plan = (await client.get(f"/v1/cases/{case_id}/plan", headers=lead)).json()
    assert plan["version"] == 3 and plan["team"] == changed.json()["team"]
    team = await client.get(f"/v1/cases/{case_id}/team", headers=world.practitioner(world.other))
    assert team.status_code == 200 and team.json() == changed.json()
    async with cases_sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT actor, purpose FROM audit_log WHERE record_type = 'case' AND record_id = :c"
                    " AND action = 'update' AND purpose LIKE 'team around the family changed%'"
                ),
                {"c": case_id},
            )
        ).all()
    assert [actor for actor, _ in rows].count(f"{world.manager_sub}@LCC") == 1
    assert any(str(world.partner.id) in purpose and "team agreed at review" in purpose for _, purpose in rows)
    # a worker who does not exist is refused, naming the field
    bad = await client.put(
        f"/v1/cases/{case_id}/team",
        json={"team": [{"worker_id": str(uuid.uuid4()), "role": "x"}], "reason": "typo"},
        headers={**world.manager(), "If-Match": changed.headers["etag"]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/team/0/worker_id"


async def test_an_assessment_cannot_be_back_dated_or_future_dated_without_a_managers_reason(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Back-dating: the date sets payment-by-results baselines, so it lies between the case's start and today;
    a hub manager may back-date with a reason, which is audited."""
    _, case_id = await open_family_case(client, world, upn=make_upn(9301), family_name="Dates")
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead, manager = world.practitioner(world.lead), world.manager()
    today = datetime.now(UTC).date()
    url = f"/v1/cases/{case_id}/assessment"
    for when, headers in ((today - timedelta(days=1), lead), ("2026-01-01", lead), (today + timedelta(days=1), lead),
                          (today - timedelta(days=1), manager)):  # fmt: skip
        response = await client.post(url, json={**ASSESSMENT, "assessed_on": str(when)}, headers=headers)
        assert response.status_code == 422, (when, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in response.json()["errors"]] == ["/assessed_on"]
    # the future is refused even with a reason, and only a hub manager back-dates
    reason = "assessment done on paper at the first visit, typed up late"
    future = {**ASSESSMENT, "assessed_on": str(today + timedelta(days=1)), "backdate_reason": reason}
    assert (await client.post(url, json=future, headers=manager)).status_code == 422
    backdated = {**ASSESSMENT, "assessed_on": str(today - timedelta(days=3)), "backdate_reason": reason}
    assert (await client.post(url, json=backdated, headers=lead)).status_code == 403
    response = await client.post(url, json=backdated, headers=manager)
    assert response.status_code == 201, response.text
    assert response.json()["assessed_on"] == str(today - timedelta(days=3))
    async with cases_sessions() as session:
        purposes = (
            await session.scalars(
                text(
                    "SELECT purpose FROM audit_log WHERE record_type = 'assessment' AND record_id = :a"
                    " AND action = 'update'"
                ),
                {"a": response.json()["id"]},
            )
        ).all()
    assert len(purposes) == 1 and reason in purposes[0] and str(today - timedelta(days=3)) in purposes[0]
    # today is always fine for the lead
    assert (await client.post(url, json={**ASSESSMENT, "assessed_on": str(today)}, headers=lead)).status_code == 201


async def test_a_referred_case_began_when_the_referral_was_received(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    event = referral_event(upn=make_upn(9302), family_name="Received")  # received 2026-11-19, before today
    assert (await post_event(client, event)).json()["status"] == "processed"
    async with cases_sessions() as session:
        case_id = await session.scalar(
            select(CaseReferral.case_id).where(CaseReferral.referral_id == uuid.UUID(event["data"]["referral_id"]))
        )
    url = f"/v1/cases/{case_id}/assessment"
    early = await client.post(url, json={**ASSESSMENT, "assessed_on": "2026-11-18"}, headers=world.manager())
    assert early.status_code == 422 and early.json()["errors"][0]["pointer"] == "/assessed_on"
    assert "2026-11-19" in early.json()["errors"][0]["detail"]
    on_receipt = await client.post(url, json={**ASSESSMENT, "assessed_on": "2026-11-19"}, headers=world.manager())
    assert on_receipt.status_code == 201, on_receipt.text
