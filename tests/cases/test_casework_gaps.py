"""Issue 22, casework the people on the ground need: a hub manager lists the hub's workers with their caseload
and capacity; steps up and down come back on the case and in the family's case history."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from earlyhelp.demo import upn as demo_upn
from tests.cases.conftest import World, assign, close_case, make_world, open_family_case
from tests.support import auth, make_token


async def test_a_hub_manager_lists_the_hubs_workers_with_caseload_and_capacity(
    client: httpx.AsyncClient, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with cases_sessions() as session:
        world: World = await make_world(session, cap=2)
    _, first = await open_family_case(client, world, upn=demo_upn(987_001))
    _, second = await open_family_case(client, world, upn=demo_upn(987_002))
    assert (await assign(client, world, first, world.lead)).status_code == 201
    assert (await assign(client, world, second, world.lead)).status_code == 201

    response = await client.get("/v1/workers?hub=north", headers=world.manager())
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = {w["id"]: w for w in response.json()["items"]}
    lead, other = listed[str(world.lead.id)], listed[str(world.other.id)]
    assert (lead["current_caseload"], lead["caseload_cap"], lead["capacity"]) == (2, 2, 0)
    assert (other["current_caseload"], other["capacity"]) == (0, 2)
    assert {w["hub"] for w in listed.values()} == {"north"}

    south = auth(make_token("hub_manager", sub="south-mgr", agency="LCC", agency_type="council", hubs=["south"]))
    assert (await client.get("/v1/workers?hub=north", headers=south)).status_code == 403
    assert (await client.get("/v1/workers?hub=north", headers=world.practitioner(world.lead))).status_code == 403
    nowhere = auth(make_token("hub_manager", sub="x-mgr", agency="LCC", agency_type="council", hubs=["atlantis"]))
    assert (await client.get("/v1/workers?hub=atlantis", headers=nowhere)).status_code == 404
    both = await client.get(f"/v1/workers?hub=north&ids={world.lead.id}", headers=world.manager())
    assert both.status_code == 422 and both.json()["errors"][0]["pointer"] == "#query/ids"
    by_id = (await client.get(f"/v1/workers?ids={world.lead.id}", headers=world.manager())).json()["items"]
    assert by_id[0]["current_caseload"] is None


async def test_steps_up_and_down_come_back_on_the_case_and_the_family_history(
    client: httpx.AsyncClient, world: World
) -> None:
    family_id, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    closed = await close_case(
        client,
        case_id,
        {
            "outcome": "stepped_up",
            "reason": "safeguarding concern",
            "step": {"agency": "Children's social care", "reason": "s47 enquiry"},
        },
        lead,
    )
    assert closed.status_code == 200, closed.text
    [step] = closed.json()["steps"]
    assert (step["direction"], step["agency"], step["reason"]) == ("up", "Children's social care", "s47 enquiry")

    reopened = await client.post(
        "/v1/cases",
        json={
            "family_id": family_id,
            "reason": "stepped down after the s47",
            "stepped_down_from": {"agency": "Children's social care", "reason": "no further CSC role"},
        },
        headers=world.manager(),
    )
    assert reopened.status_code == 201, reopened.text
    one = (await client.get(f"/v1/cases/{case_id}", headers=world.manager())).json()
    assert [s["direction"] for s in one["steps"]] == ["up"]
    history = (await client.get(f"/v1/cases?family_ids={family_id}", headers=world.manager())).json()["items"]
    # (both cases were opened in the test's one transaction, at the same now(): compared in status order)
    assert sorted((c["status"], [(s["direction"], s["agency"], s["reason"]) for s in c["steps"]]) for c in history) == [
        ("closed", [("up", "Children's social care", "s47 enquiry")]),
        ("open", [("down", "Children's social care", "no further CSC role")]),
    ]
