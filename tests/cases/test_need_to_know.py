"""Need-to-know, round two (issue 19): ids in request bodies, who writes the plan and assessment, back-dating.

Every refusal is paired with the same request succeeding for someone entitled to it, so a 404 or 403 cannot
come from a malformed request.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import Family, FamilyMember
from tests.cases.conftest import World, assign, family_body, open_family_case
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
    _, sally = await south_family(client)
    twin = await client.post(
        "/v1/families", json=family_body(upn=make_upn(9103), hub="south", family_name="Sallis"), headers=south_manager()
    )
    assert twin.status_code == 201, twin.text
    sally_twin = next(m["person"]["id"] for m in twin.json()["members"] if m["role"] == "parent_carer")
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
