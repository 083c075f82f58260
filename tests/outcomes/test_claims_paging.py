"""The claims list pages both ways: forward with `cursor`, backward with `before` (or from the end), the same
claims in the same order (oldest first, the id breaking ties); both directions at once are a 422 naming `before`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.models import Claim, Enrolment
from tests.support import auth, make_token
from tests.support.paging import Lister, page_plan

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))


async def _claims(sessions: async_sessionmaker[AsyncSession], count: int) -> list[str]:
    """Claims stored as the claims service stores them, every two made at the same instant."""
    ids = []
    async with sessions() as session:
        start = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
        for n in range(count):
            family_id = uuid.uuid4()
            enrolment = Enrolment(
                family_id=family_id, case_id=uuid.uuid4(), hub="north", programme_phase="phase-3",
                framework_code="SF", framework_version="1", needs=["housing"], eligible=True,
                start_date=date(2025, 4, 1), assessed_on=date(2025, 4, 1),
            )  # fmt: skip
            session.add(enrolment)
            await session.flush()
            claim = Claim(
                id=uuid.uuid4(), family_id=family_id, enrolment_id=enrolment.id, programme_phase="phase-3",
                framework_code="SF", framework_version="1", hub="paging", practitioner_assessed=False,
                evidence={}, evidence_sha256="0" * 64, created_by="test",
                created_at=start + timedelta(minutes=n // 2),
            )  # fmt: skip
            session.add(claim)
            ids.append(str(claim.id))
        await session.commit()
    return ids


async def test_claims_page_backward_as_they_page_forward(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await _claims(outcomes_sessions, 7)
    claims = Lister(outcomes_client, "/v1/claims", ANALYST, {"hub": "paging"})
    await claims.check_both_ways(2, created)
    in_order = await claims.forward(3)
    expected = sorted(created, key=lambda c: (created.index(c) // 2, uuid.UUID(c)))
    assert in_order == expected, "oldest first, then by id"


async def test_a_page_of_claims_is_read_off_an_index(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The list's order (oldest first, then id) is an index's: a page, first or after a cursor, forward or backward,
    filtered or not, is an index scan that stops after it, never a sort of every claim."""
    await _claims(outcomes_sessions, 3)
    first = await outcomes_client.get("/v1/claims", params={"limit": 2}, headers=ANALYST)
    cursor = first.json()["cursors"][-1]
    for params in ({}, {"cursor": cursor}, {"before": cursor}, {"from_end": "true"}, {"hub": "paging"}):
        plan = await page_plan(
            outcomes_sessions,
            "claims",
            outcomes_client.get("/v1/claims", params={"limit": 2, **params}, headers=ANALYST),
        )
        scans = ("Index Scan using ix_claims_created " in plan) or (
            "Index Scan Backward using ix_claims_created " in plan
        )
        assert scans and "Sort" not in plan, (params, plan)
