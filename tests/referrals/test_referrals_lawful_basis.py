"""Every referral records a lawful basis that adds up with its consent (docs/privacy.md)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.referrals.conftest import admin, consent, create_maternity, create_school


async def _count(client: httpx.AsyncClient) -> int:
    listed = await client.get("/v1/referrals", params={"limit": 100}, headers=admin())
    assert listed.status_code == 200, listed.text
    return len(listed.json()["items"])


async def test_consent_as_the_basis_without_consent_is_a_422_naming_both_fields(client: httpx.AsyncClient) -> None:
    before = await _count(client)
    response = await create_maternity(client, consent=consent(False), lawful_basis="consent")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {e["pointer"] for e in response.json()["errors"]} == {"/lawful_basis", "/consent/given"}
    assert await _count(client) == before  # nothing stored


async def test_vital_interests_is_for_a_safeguarding_concern(client: httpx.AsyncClient) -> None:
    refused = await create_maternity(client, consent=consent(False), lawful_basis="vital_interests")
    assert refused.status_code == 422, refused.text
    assert {e["pointer"] for e in refused.json()["errors"]} == {"/lawful_basis", "/safeguarding_concern"}
    taken = await create_maternity(
        client, consent=consent(False), lawful_basis="vital_interests", safeguarding_concern=True
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["lawful_basis"] == "vital_interests"


@pytest.mark.parametrize(("given", "expected"), [(True, "consent"), (False, "public_task")])
async def test_a_referral_without_a_stated_basis_records_one(
    client: httpx.AsyncClient, given: bool, expected: str
) -> None:
    school = await create_school(client, consent=consent(given), lawful_basis=None)
    assert school.status_code == 201, school.text
    assert school.json()["lawful_basis"] == expected
    read = await client.get(f"/v1/referrals/{school.json()['id']}", headers=admin())
    assert read.json()["lawful_basis"] == expected


async def test_the_database_refuses_a_consent_basis_without_consent(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await create_maternity(client)
    assert created.status_code == 201, created.text
    async with referrals_sessions() as session:
        with pytest.raises(IntegrityError, match="ck_referrals_consent_basis_needs_consent"):
            await session.execute(
                text("UPDATE referrals SET consent_given = false WHERE id = :id"), {"id": created.json()["id"]}
            )
    async with referrals_sessions() as session:
        with pytest.raises(IntegrityError, match="lawful_basis"):
            await session.execute(
                text("UPDATE referrals SET lawful_basis = NULL WHERE id = :id"), {"id": created.json()["id"]}
            )
