"""`Idempotency-Key` on the cases service's creates (DESIGN.md §5): the same key and body replay the first
response, a different body is refused, a failed create can be retried with its key, keys belong to their caller."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import Contact, Family, idempotency_keys
from shared.idempotency import purge_expired
from tests.cases.conftest import World, family_body, open_family_case
from tests.support import auth, make_token
from tests.support.factories import upn as make_upn


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return headers | {"Idempotency-Key": key}


async def family_count(sessions: async_sessionmaker[AsyncSession], name: str) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Family).where(Family.name == name)) or 0)


async def test_a_retried_create_replays_the_first_response(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = family_body(upn=make_upn(8101), family_name="Idem")
    headers = keyed(world.manager(), "portal-create-family-1")
    first = await client.post("/v1/families", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    # the same body with its keys in another order and other spacing is the same request
    again = await client.post(
        "/v1/families",
        content=httpx.Request("POST", "/", json=dict(reversed(body.items()))).content,
        headers=headers | {"content-type": "application/json"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await family_count(cases_sessions, "Idem family") == 1

    changed = await client.post("/v1/families", json=body | {"name": "Other family"}, headers=headers)
    assert changed.status_code == 422
    assert changed.headers["content-type"] == "application/problem+json"
    assert changed.json()["errors"][0] == {
        "pointer": "#header/Idempotency-Key",
        "detail": "reused with a different body",
        "code": "idempotency_key_reused",
    }
    # another endpoint with the same key and body is another request, refused the same way
    elsewhere = await client.post("/v1/people", json=body["members"][0]["person"], headers=headers)
    assert elsewhere.status_code == 422


async def test_without_a_key_every_create_creates(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    for n in range(2):
        body = family_body(upn=make_upn(8201 + n), family_name="Twice")
        assert (await client.post("/v1/families", json=body, headers=world.manager())).status_code == 201
    assert await family_count(cases_sessions, "Twice family") == 2


async def test_a_failed_create_keeps_no_key_so_the_retry_can_succeed(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = keyed(world.manager(), "portal-create-family-2")
    unknown_hub = await client.post("/v1/families", json=family_body(hub="nowhere"), headers=headers)
    assert unknown_hub.status_code in (403, 422)
    fixed = await client.post(
        "/v1/families", json=family_body(upn=make_upn(8501), family_name="Fixed"), headers=headers
    )
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert await family_count(cases_sessions, "Fixed family") == 1


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    other_manager = auth(make_token("hub_manager", sub=f"other-{uuid.uuid4().hex[:6]}", agency="LCC",
                                    agency_type="council", hubs=["north"]))  # fmt: skip
    for n, headers in enumerate((world.manager(), other_manager)):
        body = family_body(upn=make_upn(8301 + n), family_name="Shared")
        response = await client.post("/v1/families", json=body, headers=keyed(headers, "same-key"))
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert await family_count(cases_sessions, "Shared family") == 2


async def test_contacts_and_lead_workers_replay_too(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, case_id = await open_family_case(client, world)
    assign = {"worker_id": str(world.lead.id), "reason": "allocation"}
    headers = keyed(world.manager(), "assign-1")
    first = await client.post(f"/v1/cases/{case_id}/lead-worker", json=assign, headers=headers)
    again = await client.post(f"/v1/cases/{case_id}/lead-worker", json=assign, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()

    lead = keyed(world.practitioner(world.lead), "visit-2026-11-23")
    note = {"kind": "visit", "occurred_at": "2026-11-20T10:00:00Z", "note": "Home visit; rent plan agreed"}
    ids = {(await client.post(f"/v1/cases/{case_id}/contacts", json=note, headers=lead)).json()["id"] for _ in range(3)}
    assert len(ids) == 1
    async with cases_sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.case_id == uuid.UUID(case_id))
        )
    assert stored == 1


@pytest.mark.parametrize("key", ["", "abc", "x" * 129, "has space-and-more", "slash/in/key"])
async def test_a_malformed_key_is_a_400(client: httpx.AsyncClient, world: World, key: str) -> None:
    response = await client.post("/v1/families", json=family_body(), headers=keyed(world.manager(), key))
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


async def test_keys_expire_after_a_day(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A key lives 24 hours (the stored response holds personal data); after that the purge removes it and the
    same key creates anew."""
    headers = keyed(world.manager(), "old-key-1")
    body = family_body(upn=make_upn(8401), family_name="Old")
    assert (await client.post("/v1/families", json=body, headers=headers)).status_code == 201
    fresh = keyed(world.manager(), "new-key-1")
    assert (await client.post("/v1/families", json=family_body(upn=make_upn(8402)), headers=fresh)).status_code == 201
    async with cases_sessions() as session:
        await session.execute(
            text("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-key-1'")
        )
        assert await purge_expired(session, idempotency_keys) == 1
        assert (await session.scalars(text("SELECT key FROM idempotency_keys"))).all() == ["new-key-1"]
        await session.commit()
    again = await client.post("/v1/families", json=family_body(upn=make_upn(8403), family_name="Old"), headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert await family_count(cases_sessions, "Old family") == 2
