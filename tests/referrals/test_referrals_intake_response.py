"""Intake builds its 201 body from the row values it writes (no ORM objects on the hot path): the body is the
referral as reading it back shows it, to the same caller, for both kinds and for a caller who sees matches."""

from __future__ import annotations

import httpx

from tests.referrals.conftest import SCHOOL, admin, create_maternity, create_school, partner


async def _read_back(client: httpx.AsyncClient, created: httpx.Response, headers: dict[str, str]) -> None:
    assert created.status_code == 201, created.text
    read = await client.get(f"/v1/referrals/{created.json()['id']}", headers=headers)
    assert read.status_code == 200, read.text
    assert created.json() == read.json()


async def test_maternity_body_is_the_stored_referral(client: httpx.AsyncClient) -> None:
    await _read_back(client, await create_maternity(client), partner())


async def test_school_body_is_the_stored_referral(client: httpx.AsyncClient) -> None:
    await _read_back(client, await create_school(client), partner(**SCHOOL))


async def test_body_with_match_details_is_the_stored_referral(client: httpx.AsyncClient) -> None:
    # an admin creating a referral sees the people's match state in the body, as on reading it back
    created = await create_maternity(client, headers=admin())
    assert {p["match"]["status"] for p in created.json()["people"]} == {"pending"}
    await _read_back(client, created, admin())
