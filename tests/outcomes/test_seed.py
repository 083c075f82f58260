"""Demo observations: deterministic, idempotent, and a mix of claimable and not."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.enrolment.endpoints import close_family_case
from outcomes.models import AttendanceRecord
from outcomes.seed import seed_demo


async def test_seed_demo_gives_claimable_and_struggling_families(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        families = []
        for _ in range(9):
            data = kit.assessment(
                ["education", "crime", "health"],
                [kit.person("parent_carer", "1988-03-03"), kit.person("child", "2014-06-06")],
                assessed_on="2024-03-01",
            )
            families.append(await kit.enrol(session, data))
            await close_family_case(
                session,
                kit.SETTINGS,
                {
                    "case_id": data["case_id"],
                    "family_id": data["family_id"],
                    "closed_on": "2024-12-01",
                    "outcome": "needs_met",
                },
                actor="t",
            )
        profiles = await seed_demo(session, seed=11, family_ids=families, settings=kit.SETTINGS)
        assert profiles == await seed_demo(session, seed=11, family_ids=families, settings=kit.SETTINGS)
        loaded = await session.scalar(select(func.count()).select_from(AttendanceRecord))
        await seed_demo(session, seed=11, family_ids=families, settings=kit.SETTINGS)
        assert await session.scalar(select(func.count()).select_from(AttendanceRecord)) == loaded
        await kit.evaluation(session, kit.SETTINGS).evaluate(family_id=None, as_of=date(2025, 9, 1), actor="t")
        progress = await kit.progress(session).progress(kit.ANALYST, families, with_evidence=False)
        claimable = {str(p.family_id): p.claimable for p in progress}
        assert set(profiles.values()) >= {"struggling"} and len(set(profiles.values())) >= 2
        for family, profile in profiles.items():
            assert claimable[family] is (profile != "struggling"), (profile, progress)
