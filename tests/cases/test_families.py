"""Families over time: members join and leave, relationships, unborn members, and the events they raise."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.cases.conftest import World, family_body, open_family_case


async def test_membership_over_time_and_relationships(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    family_id, _ = await open_family_case(client, world)
    manager = world.manager()
    family = (await client.get(f"/v1/families/{family_id}", headers=manager)).json()
    mother = next(m for m in family["members"] if m["role"] == "parent_carer")
    child = next(m for m in family["members"] if m["role"] == "child")

    joined = await client.post(
        f"/v1/families/{family_id}/members",
        json={"role": "other_adult", "joined_on": "2026-01-05",
              "person": {"given_name": "Lee", "family_name": "Smith", "date_of_birth": "1985-02-02"}},
        headers=manager,
    )  # fmt: skip
    assert joined.status_code == 201, joined.text
    partner = next(m for m in joined.json()["members"] if m["role"] == "other_adult")
    unborn = await client.post(
        f"/v1/families/{family_id}/members", json={"role": "unborn", "expected_on": "2027-04-01"}, headers=manager
    )
    assert unborn.status_code == 201
    again = await client.post(
        f"/v1/families/{family_id}/members", json={"role": "child", "person_id": child["person"]["id"]}, headers=manager
    )
    assert again.status_code == 409  # already a current member

    related = await client.post(
        f"/v1/families/{family_id}/relationships",
        json={"person_id": mother["person"]["id"], "related_person_id": child["person"]["id"], "kind": "parent_of"},
        headers=manager,
    )
    assert related.status_code == 201, related.text
    assert related.json()["relationships"] == [
        {"person_id": mother["person"]["id"], "related_person_id": child["person"]["id"], "kind": "parent_of"}
    ]

    left = await client.post(
        f"/v1/families/{family_id}/members/{partner['id']}/leave",
        json={"left_on": "2026-06-30", "reason": "moved out"},
        headers=manager,
    )
    assert left.status_code == 200, left.text
    members = {m["id"]: m for m in left.json()["members"]}
    assert members[partner["id"]]["left_on"] == "2026-06-30"  # history is kept, not deleted
    assert sorted(m["role"] for m in members.values() if m["left_on"] is None) == ["child", "parent_carer", "unborn"]
    twice = await client.post(
        f"/v1/families/{family_id}/members/{partner['id']}/leave", json={"reason": "again"}, headers=manager
    )
    assert twice.status_code == 409

    # a former member is no longer a current member: relationships are between current members
    stale = await client.post(
        f"/v1/families/{family_id}/relationships",
        json={
            "person_id": partner["person"]["id"],
            "related_person_id": child["person"]["id"],
            "kind": "step_parent_of",
        },
        headers=manager,
    )
    assert stale.status_code == 422 and stale.json()["errors"][0]["pointer"] == "/person_id"

    async with cases_sessions() as session:
        changes = (
            (
                await session.execute(
                    text("SELECT data FROM outbox_events WHERE type = 'family.membership_changed' AND subject = :f"),
                    {"f": family_id},
                )
            )
            .scalars()
            .all()
        )
    assert [(c["joined"], c["left"]) for c in changes] == [(2, 0), (1, 0), (1, 0), (0, 1)]


async def test_family_validation_and_access(client: httpx.AsyncClient, world: World) -> None:
    body = family_body()
    body["members"][1]["role"] = "unborn"
    response = await client.post("/v1/families", json=body, headers=world.manager())
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"].startswith("/members/1")
    other_hub = family_body(hub="south")
    assert (await client.post("/v1/families", json=other_hub, headers=world.manager())).status_code == 403
    practitioner = world.practitioner(world.lead)
    assert (await client.post("/v1/families", json=family_body(), headers=practitioner)).status_code == 403
    bad_postcode = family_body()
    bad_postcode["postcode"] = "NOT A POSTCODE"
    response = await client.post("/v1/families", json=bad_postcode, headers=world.manager())
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/postcode"


async def test_families_by_person_are_current_memberships_within_the_callers_scope(
    client: httpx.AsyncClient, world: World
) -> None:
    manager = world.manager()
    first_id, _ = await open_family_case(client, world, upn="H801200001001", family_name="Khan")
    first = (await client.get(f"/v1/families/{first_id}", headers=manager)).json()
    child = next(m for m in first["members"] if m["role"] == "child")
    mother = next(m for m in first["members"] if m["role"] == "parent_carer")
    # the child also joins a second family (shared care); the mother of the first leaves it
    second = await client.post(
        "/v1/families", json=family_body(upn="X801200001002", family_name="Ali"), headers=manager
    )
    assert second.status_code == 201, second.text
    second_id = second.json()["id"]
    joined = await client.post(
        f"/v1/families/{second_id}/members", json={"role": "child", "person_id": child["person"]["id"]}, headers=manager
    )
    assert joined.status_code == 201, joined.text
    left = await client.post(
        f"/v1/families/{first_id}/members/{mother['id']}/leave", json={"reason": "moved out"}, headers=manager
    )
    assert left.status_code == 200, left.text

    ids = f"{child['person']['id']},{mother['person']['id']}"
    found = await client.get("/v1/families", params={"person_ids": ids}, headers=manager)
    assert found.status_code == 200, found.text
    assert sorted(f["id"] for f in found.json()["items"]) == sorted([first_id, second_id])
    only_mother = await client.get("/v1/families", params={"person_ids": mother["person"]["id"]}, headers=manager)
    assert only_mother.json()["items"] == []  # she left: not a current member of any family

    # a practitioner outside the families' caseload and team sees none of them
    outsider = await client.get("/v1/families", params={"person_ids": ids}, headers=world.practitioner(world.other))
    assert outsider.status_code == 200 and outsider.json()["items"] == []
    bad = await client.get("/v1/families", params={"person_ids": "not-a-uuid"}, headers=manager)
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "#query/person_ids"
