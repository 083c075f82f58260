"""need_results name an enrolment and an evaluation run: checked per statement by triggers (outcomes0005).

What the two row-level foreign keys guaranteed still holds: a result for a missing enrolment or run is refused,
deleting an enrolment deletes its results (also when an evaluation writing them commits meanwhile), and runs
that results name cannot go away.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from outcomes.models import Enrolment, EvaluationRun, NeedResult
from shared.db import async_url

AS_OF = date(2025, 9, 1)
INSERT = text(
    "INSERT INTO need_results (enrolment_id, need, run_id, rule_kind, met, reason, as_of) "
    "VALUES (:enrolment, 'housing', :run, 'practitioner_assessed', false, 'by hand', '2025-09-01')"
)


@pytest.fixture
async def factory(fresh_outcomes_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on their own connections (no pool), for tests where two transactions meet."""
    engine = create_async_engine(async_url(fresh_outcomes_db), poolclass=NullPool)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def _enrol(session: AsyncSession, kit: Any) -> uuid.UUID:
    """A family enrolled with three needs."""
    return await kit.enrol(  # type: ignore[no-any-return]
        session, kit.assessment(["education", "crime", "health"], [kit.person("parent_carer", "1985-01-01")])
    )


async def _enrol_and_evaluate(session: AsyncSession, kit: Any) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(family id, enrolment id, run id) of a family enrolled with three needs and evaluated once."""
    family = await _enrol(session, kit)
    run = await kit.evaluation(session, kit.SETTINGS).evaluate(family_id=family, as_of=AS_OF, actor="test")
    enrolment = await session.scalar(select(Enrolment.id).where(Enrolment.family_id == family))
    assert enrolment is not None and run.changed == 3
    return family, enrolment, run.id


async def _results(session: AsyncSession, enrolment: uuid.UUID) -> int:
    return int(
        await session.scalar(text("SELECT count(*) FROM need_results WHERE enrolment_id = :e"), {"e": enrolment})
    )


async def test_a_result_must_name_an_enrolment_and_a_run(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        _, enrolment, run = await _enrol_and_evaluate(session, kit)
        for values, table in (
            ({"enrolment": uuid.uuid4(), "run": run}, '"enrolments"'),
            ({"enrolment": enrolment, "run": uuid.uuid4()}, '"evaluation_runs"'),
        ):
            with pytest.raises(IntegrityError, match=f"is not present in table {table}"):
                async with session.begin_nested():
                    await session.execute(INSERT, values)
        with pytest.raises(IntegrityError, match='is not present in table "evaluation_runs"'):
            async with session.begin_nested():
                await session.execute(
                    text("UPDATE need_results SET run_id = :run WHERE enrolment_id = :e"),
                    {"run": uuid.uuid4(), "e": enrolment},
                )
        async with session.begin_nested():
            await session.execute(INSERT, {"enrolment": enrolment, "run": run})
        assert await _results(session, enrolment) == 4


async def test_deleting_an_enrolment_deletes_its_results_and_runs_stay(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        _, enrolment, run = await _enrol_and_evaluate(session, kit)
        _, other, _ = await _enrol_and_evaluate(session, kit)
        for statement in (
            "DELETE FROM evaluation_runs WHERE id = :run",
            "UPDATE evaluation_runs SET id = gen_random_uuid() WHERE id = :run",
            "UPDATE enrolments SET id = gen_random_uuid() WHERE id = :enrolment",
        ):
            with pytest.raises(IntegrityError):
                async with session.begin_nested():
                    await session.execute(text(statement), {"run": run, "enrolment": enrolment})
        await session.execute(text("DELETE FROM enrolments WHERE id = :e"), {"e": enrolment})
        assert await _results(session, enrolment) == 0
        assert await _results(session, other) == 3
        assert await session.scalar(select(EvaluationRun.id).where(EvaluationRun.id == run)) == run


async def test_runs_are_not_truncated_and_enrolments_take_their_results_along(
    factory: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with factory() as session:
        await _enrol_and_evaluate(session, kit)
        await session.commit()
    async with factory() as session:
        with pytest.raises(IntegrityError, match="evaluation runs are kept"):
            await session.execute(text("TRUNCATE evaluation_runs"))
    async with factory() as session:
        await session.execute(text("TRUNCATE enrolments CASCADE"))
        await session.commit()
        assert await session.scalar(select(NeedResult.need).limit(1)) is None


async def test_enrolments_are_deleted_under_read_committed_only(
    factory: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    """Above READ COMMITTED the cascade's snapshot could miss results committed while the delete waited."""
    async with factory() as session:
        _, enrolment, _ = await _enrol_and_evaluate(session, kit)
        await session.commit()
    async with factory() as session:
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        with pytest.raises(DBAPIError, match="READ COMMITTED only"):
            await session.execute(text("DELETE FROM enrolments WHERE id = :e"), {"e": enrolment})
    async with factory() as session:
        assert await _results(session, enrolment) == 3


async def _enrolled_without_results(factory: async_sessionmaker[AsyncSession], kit: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """(family id, enrolment id) of an enrolled family whose results are still to be written, committed."""
    async with factory() as session:
        family, enrolment, _ = await _enrol_and_evaluate(session, kit)
        await session.execute(text("DELETE FROM need_results WHERE enrolment_id = :e"), {"e": enrolment})
        await session.commit()
    return family, enrolment


async def test_a_delete_waits_for_an_evaluation_writing_the_enrolments_results(
    factory: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    family, enrolment = await _enrolled_without_results(factory, kit)
    async with factory() as evaluating, factory() as deleting:
        run = await kit.evaluation(evaluating, kit.SETTINGS).evaluate(family_id=family, as_of=AS_OF, actor="test")
        assert run.changed == 3
        delete = asyncio.create_task(deleting.execute(text("DELETE FROM enrolments WHERE id = :e"), {"e": enrolment}))
        await asyncio.sleep(0.5)
        assert not delete.done()  # the evaluation's results hold the enrolment
        await evaluating.commit()
        await asyncio.wait_for(delete, timeout=30)
        await deleting.commit()
    async with factory() as session:
        assert await _results(session, enrolment) == 0


async def test_an_evaluation_of_an_enrolment_being_deleted_fails_once_it_is_gone(
    factory: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    family, enrolment = await _enrolled_without_results(factory, kit)
    async with factory() as deleting, factory() as evaluating:
        await deleting.execute(text("DELETE FROM enrolments WHERE id = :e"), {"e": enrolment})
        evaluation = asyncio.create_task(
            kit.evaluation(evaluating, kit.SETTINGS).evaluate(family_id=family, as_of=AS_OF, actor="test")
        )
        await asyncio.sleep(0.5)
        assert not evaluation.done()  # its results wait to learn whether the enrolment stays
        await deleting.commit()
        with pytest.raises(IntegrityError, match='is not present in table "enrolments"'):
            await asyncio.wait_for(evaluation, timeout=30)
    async with factory() as session:
        assert await _results(session, enrolment) == 0


async def test_concurrent_evaluations_of_one_family_queue(factory: async_sessionmaker[AsyncSession], kit: Any) -> None:
    """New results are inserted plainly: a second evaluation waits for the first instead of colliding on the key."""
    async with factory() as session:
        family = await _enrol(session, kit)
        await session.commit()
    async with factory() as first, factory() as second:
        first_run = await kit.evaluation(first, kit.SETTINGS).evaluate(family_id=family, as_of=AS_OF, actor="test")
        second_task = asyncio.create_task(
            kit.evaluation(second, kit.SETTINGS).evaluate(family_id=family, as_of=AS_OF, actor="test")
        )
        await asyncio.sleep(0.5)
        assert not second_task.done()
        await first.commit()
        second_run = await asyncio.wait_for(second_task, timeout=30)
        await second.commit()
    assert (first_run.changed, second_run.results, second_run.changed) == (3, 3, 0)
