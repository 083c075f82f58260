"""One deterministic demo dataset across the three services.

Each service makes its own demo records (`<service>.seed.seed_demo`). The outcomes service learns about the demo
families the way it learns about real ones — from `case.assessment_completed` and `case.closed` — so this module
builds those event payloads from the cases demo data and hands them to the outcomes service's own handlers, then
asks outcomes for three years of observations for the enrolled families. Running it twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from earlyhelp.platform import CASES, OUTCOMES, REFERRALS, Part
from shared.db import async_url
from shared.migrate import with_database


@asynccontextmanager
async def _transaction(server_url: str, part: Part) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(async_url(with_database(server_url, part.database)), poolclass=NullPool)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


async def _case_events(session: AsyncSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`case.assessment_completed` and `case.closed` payloads (docs/contracts.md) for the assessed demo cases."""
    from cases.models import Assessment, Case, FamilyMember, Person

    assessed = (await session.execute(select(Assessment, Case).join(Case, Case.id == Assessment.case_id))).all()
    family_ids = {case.family_id for _, case in assessed}
    members = (
        await session.execute(
            select(FamilyMember.family_id, FamilyMember.role, Person)
            .join(Person, Person.id == FamilyMember.person_id)
            .where(FamilyMember.family_id.in_(family_ids))
        )
    ).all()
    people: dict[Any, list[dict[str, Any]]] = {}
    for family_id, role, person in members:
        people.setdefault(family_id, []).append(
            {
                "person_id": str(person.id),
                "role": role,
                "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
                "nhs_number": person.nhs_number,
                "upn": person.upn,
            }
        )
    completed, closed = [], []
    for assessment, case in assessed:
        completed.append(
            {
                "case_id": str(case.id),
                "family_id": str(case.family_id),
                "hub": case.hub,
                "framework": assessment.framework,
                "framework_version": assessment.framework_version,
                "needs": list(assessment.need_codes),
                "assessed_on": assessment.assessed_on.isoformat(),
                "eligible": assessment.eligible,
                "people": people.get(case.family_id, []),
            }
        )
        if case.closed_on is not None:
            closed.append(
                {
                    "case_id": str(case.id),
                    "family_id": str(case.family_id),
                    "closed_on": case.closed_on.isoformat(),
                    "outcome": case.outcome or "other",
                }
            )
    return completed, closed


async def seed_all(server_url: str, *, families: int, seed: int) -> list[str]:
    """Seed referrals, cases and outcomes consistently; one transaction per service."""
    from cases.seed import seed_demo as seed_cases
    from outcomes.config import Settings as OutcomesSettings
    from outcomes.seed import seed_demo as seed_outcomes
    from outcomes.service import close_family_case, enrol_family
    from referrals.seed import seed_demo as seed_referrals

    lines = []
    async with _transaction(server_url, REFERRALS) as session:
        result = await seed_referrals(session, seed=seed, count=families)
        lines.append("referrals: " + ("already present" if result is False else f"{families} demo referrals"))
    async with _transaction(server_url, CASES) as session:
        counts = await seed_cases(session, seed=seed)
        completed, closed = await _case_events(session)
        lines.append("cases: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    settings = OutcomesSettings()
    async with _transaction(server_url, OUTCOMES) as session:
        for data in completed:
            await enrol_family(session, settings, data, actor="demo-seed")
        for data in closed:
            await close_family_case(session, settings, data, actor="demo-seed")
        family_ids = [uuid.UUID(d["family_id"]) for d in completed]
        profiles = await seed_outcomes(session, seed=seed, family_ids=family_ids, settings=settings)
        lines.append(f"outcomes: {len(completed)} families enrolled, observations for {len(profiles)}")
    return lines
