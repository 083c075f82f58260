"""One rule for every change of a versioned resource (a case, a plan): `If-Match` with its current ETag is required.
Without it the answer is 428 (naming the current ETag), with an old one 412; creating the first plan needs none.
Changing the team around the family is a change of the case: it takes the case's ETag and moves it on."""

from __future__ import annotations

import httpx

from tests.cases.conftest import ASSESSMENT, FrameworkServer, World, assign, open_family_case, plan_body, put_team

CLOSING = {"outcome": "needs_met", "reason": "Goals reached"}


async def test_closing_a_case_needs_if_match_as_a_plan_update_does(client: httpx.AsyncClient, world: World) -> None:
    _, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    read = await client.get(f"/v1/cases/{case_id}", headers=lead)
    etag = read.headers["etag"]

    missing = await client.post(f"/v1/cases/{case_id}/close", json=CLOSING, headers=lead)
    assert missing.status_code == 428, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "If-Match" in missing.json()["detail"] and missing.json()["current_etag"] == etag

    stale = await client.post(f"/v1/cases/{case_id}/close", json=CLOSING, headers={**lead, "If-Match": '"case-0"'})
    assert stale.status_code == 412, stale.text
    assert stale.json()["current_etag"] == etag
    still_open = await client.get(f"/v1/cases/{case_id}", headers=lead)
    assert still_open.json()["status"] != "closed" and still_open.headers["etag"] == etag

    closed = await client.post(f"/v1/cases/{case_id}/close", json=CLOSING, headers={**lead, "If-Match": etag})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.headers["etag"] != etag


async def test_a_plan_update_without_if_match_is_428_and_a_stale_one_412(
    client: httpx.AsyncClient, world: World, framework_server: FrameworkServer
) -> None:
    _, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    assert (await client.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    first = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)  # a create: no If-Match
    assert first.status_code == 200, first.text
    missing = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(summary="v2"), headers=lead)
    assert missing.status_code == 428 and missing.json()["current_etag"] == first.headers["etag"]
    stale = await client.put(
        f"/v1/cases/{case_id}/plan", json=plan_body(summary="v2"), headers={**lead, "If-Match": '"plan-0"'}
    )
    assert stale.status_code == 412 and stale.json()["current_etag"] == first.headers["etag"]


async def test_changing_the_team_needs_the_cases_etag_and_moves_it_on(client: httpx.AsyncClient, world: World) -> None:
    _, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    etag = (await client.get(f"/v1/cases/{case_id}", headers=lead)).headers["etag"]
    team = await client.get(f"/v1/cases/{case_id}/team", headers=lead)
    assert team.status_code == 200 and team.headers["etag"] == etag  # the team is read with the case's ETag

    partner = [(world.partner, "school attendance lead")]
    missing = await put_team(client, case_id, partner, lead, if_match="")
    assert missing.status_code == 428, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "If-Match" in missing.json()["detail"] and missing.json()["current_etag"] == etag
    stale = await put_team(client, case_id, partner, lead, if_match='"case-0"')
    assert stale.status_code == 412 and stale.json()["current_etag"] == etag
    unchanged = await client.get(f"/v1/cases/{case_id}/team", headers=lead)
    assert unchanged.json()["team"] == [] and unchanged.headers["etag"] == etag

    changed = await put_team(client, case_id, partner, lead, if_match=etag)
    assert changed.status_code == 200, changed.text
    assert [m["worker_id"] for m in changed.json()["team"]] == [str(world.partner.id)]
    moved = changed.headers["etag"]
    assert moved != etag and (await client.get(f"/v1/cases/{case_id}", headers=lead)).headers["etag"] == moved
    # whoever read the case before the team changed is told it changed: closing with the old ETag is a 412
    closing = {"outcome": "needs_met", "reason": "Goals reached"}
    late = await client.post(f"/v1/cases/{case_id}/close", json=closing, headers={**lead, "If-Match": etag})
    assert late.status_code == 412 and late.json()["current_etag"] == moved
