"""A run writes only the results that changed; unchanged ones keep the run and date that established them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.models import Enrolment, EvaluationRun, NeedResult

SPRING = ("2025-01-06", "2025-03-28")
SUMMER = ("2025-04-22", "2025-07-18")
AUTUMN = ("2025-09-03", "2025-12-19")
NEXT_SPRING = ("2026-01-05", "2026-03-27")


async def _stored(session: AsyncSession, family_id: Any) -> dict[str, NeedResult]:
    session.expire_all()
    enrolment = await session.scalar(select(Enrolment).where(Enrolment.family_id == family_id))
    assert enrolment is not None
    rows = (await session.scalars(select(NeedResult).where(NeedResult.enrolment_id == enrolment.id))).all()
    return {r.need: r for r in rows}


async def test_rerun_writes_only_changed_results(outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any) -> None:
    async with outcomes_sessions() as session:
        child = kit.person("child", "2015-05-01")
        pid = child["person_id"]
        family = await kit.enrol(session, kit.assessment(["education", "crime", "health"], [child]))
        # 95 + 95 + 95 of 100 each: 95% over the three terms.
        await kit.load(session, [kit.term(pid, *t, 100, 95) for t in (SPRING, SUMMER, AUTUMN)])

        async def run(as_of: str) -> Any:
            return await kit.evaluation(session, kit.SETTINGS).evaluate(
                family_id=family, as_of=date.fromisoformat(as_of), actor="test"
            )

        first = await run("2026-01-10")
        assert (first.families, first.results, first.changed) == (1, 3, 3)
        before = await _stored(session, family)
        assert before["education"].met is True
        assert {r.run_id for r in before.values()} == {first.id}

        again = await run("2026-01-10")
        assert (again.families, again.results, again.met, again.changed) == (1, 3, first.met, 0)
        assert {r.run_id for r in (await _stored(session, family)).values()} == {first.id}
        runs = (await session.scalars(select(EvaluationRun).where(EvaluationRun.id.in_([first.id, again.id])))).all()
        assert {(r.families, r.results) for r in runs} == {(1, 3)}

        # A fourth term at 50% brings the last three to (95 + 95 + 50) / 300 = 80%: only education changes.
        await kit.load(session, [kit.term(pid, *NEXT_SPRING, 100, 50)])
        later = await run("2026-04-10")
        after = await _stored(session, family)
        assert after["education"].met is False
        assert "80.0% is below 90" in after["education"].reason
        assert after["education"].run_id == later.id
        assert after["education"].as_of == date(2026, 4, 10)
        assert after["health"].run_id == first.id  # practitioner-assessed, no judgement: the same result
        assert after["health"].as_of == date(2026, 1, 10)
        # Crime's windows (6 months either side of the 2025-01-10 start) closed before both dates: unchanged.
        assert after["crime"].run_id == first.id
        assert (later.results, later.changed) == (3, 1)
