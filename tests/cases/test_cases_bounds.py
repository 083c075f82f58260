"""The bounds the OpenAPI document declares (`shared.fields`) are the server's rules: past a bound, a 422 problem
naming the field, never a 500; and what a request may store at its bound, every response answers."""

from __future__ import annotations

import uuid

import httpx

from shared.fields import CURSOR_LENGTH, IDS_LENGTH, NAME_LENGTH, SHORT_TEXT_LENGTH
from tests.cases.conftest import World, family_body, open_family_case, plan_body


def _pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["pointer"] for e in response.json()["errors"]]


async def test_over_long_filters_are_422s_naming_them(client: httpx.AsyncClient, world: World) -> None:
    manager = world.manager()
    families = "/v1/families"
    assert "#query/hub" in _pointers(await client.get(families, params={"hub": "h" * 101}, headers=manager))
    assert "#query/cursor" in _pointers(
        await client.get(families, params={"cursor": "c" * (CURSOR_LENGTH + 1)}, headers=manager)
    )
    too_many = ",".join(str(uuid.uuid4()) for _ in range(101))
    assert len(too_many) > IDS_LENGTH
    assert "#query/ids" in _pointers(await client.get("/v1/people", params={"ids": too_many}, headers=manager))
    assert "#query/case_ids" in _pointers(
        await client.get("/v1/contacts", params={"case_ids": too_many}, headers=manager)
    )


async def test_an_over_long_if_match_is_a_422_naming_the_header(client: httpx.AsyncClient, world: World) -> None:
    _, case_id = await open_family_case(client, world)
    headers = {**world.manager(), "If-Match": '"' + "v" * SHORT_TEXT_LENGTH + '"'}
    response = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=headers)
    assert "#header/if-match" in _pointers(response)


async def test_a_relationship_kind_is_bounded(client: httpx.AsyncClient, world: World) -> None:
    family_id, _ = await open_family_case(client, world)
    family = (await client.get(f"/v1/families/{family_id}", headers=world.manager())).json()
    mother, child = (m["person"]["id"] for m in family["members"])
    response = await client.post(
        f"/v1/families/{family_id}/relationships",
        json={"person_id": mother, "related_person_id": child, "kind": "k" * 41},
        headers=world.manager(),
    )
    assert "/kind" in _pointers(response)


async def test_names_at_their_bound_are_stored_and_answered(client: httpx.AsyncClient, world: World) -> None:
    body = family_body(family_name="F" * (NAME_LENGTH - len(" family")))
    body["members"][0]["person"]["given_name"] = "G" * NAME_LENGTH
    created = await client.post("/v1/families", json=body, headers=world.manager())
    assert created.status_code == 201, created.text
    read = await client.get(f"/v1/families/{created.json()['id']}", headers=world.manager())
    assert read.status_code == 200, read.text
    assert len(read.json()["name"]) == NAME_LENGTH
    [parent] = [m for m in read.json()["members"] if m["role"] == "parent_carer"]  # members come in no set order
    assert parent["person"]["given_name"] == "G" * NAME_LENGTH
    body["members"][0]["person"]["given_name"] = "G" * (NAME_LENGTH + 1)
    too_long = await client.post("/v1/families", json=body, headers=world.manager())
    assert "/members/0/person/given_name" in _pointers(too_long)
