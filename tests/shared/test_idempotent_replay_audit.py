"""Idempotent replays through `shared.idempotency` (issue 19 G), on the cases service's `POST /v1/families`: a
replay hands back the family's members (names, dates of birth), so it is written to the access log as a read; the
key belongs to the token subject, so another subject with the same key never gets the stored response."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import platform
from tests.cases.conftest import family_body, make_world
from tests.support import auth, make_token
from tests.support.factories import upn


async def test_a_replay_is_a_read_in_the_access_log_and_is_the_subjects_own(
    cases_client: httpx.AsyncClient, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with cases_sessions() as session:
        world = await make_world(session)
    headers = {**world.manager(), "Idempotency-Key": "family-g-1"}
    first = await cases_client.post("/v1/families", json=family_body(), headers=headers)
    assert first.status_code == 201, first.text
    family_id = first.json()["id"]
    again = await cases_client.post("/v1/families", json=family_body(), headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()

    log = platform.audit_log.c
    async with cases_sessions() as session:
        rows = (
            await session.execute(
                select(log.actor, log.action, log.record_type).where(
                    log.record_id == family_id, log.purpose == "idempotent replay"
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [(f"{world.manager_sub}@LCC", "read", "family")]

    # another manager of the same hub and agency, the same key and body: their own create, not the first response
    colleague = auth(
        make_token("hub_manager", sub="manager-colleague", agency="LCC", agency_type="council", hubs=["north"])
    )
    theirs = await cases_client.post(
        "/v1/families", json=family_body(upn=upn(7002)), headers={**colleague, "Idempotency-Key": "family-g-1"}
    )
    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != family_id
