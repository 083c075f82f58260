"""One rule for every change of a versioned resource (a case, a plan): `If-Match` with its current ETag is required.
Without it the answer is 428 (naming the current ETag), with an old one 412; creating the first plan needs none."""

from __future__ import annotations

import httpx

from tests.cases.conftest import ASSESSMENT, FrameworkServer, World, assign, open_family_case, plan_body

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
