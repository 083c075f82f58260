"""The attendance merge: the first of duplicate rows wins, and concurrent imports of one file queue on a lock."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from outcomes.models import AttendanceRecord
from shared.db import async_url

SPRING = ("2025-01-06", "2025-03-28")
SUMMER = ("2025-04-22", "2025-07-18")


async def test_duplicate_rows_in_one_batch_first_wins(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        child = kit.person("child", "2015-05-01")
        pid = child["person_id"]
        await kit.enrol(session, kit.assessment(["education", "crime", "health"], [child]))
        rows = [kit.term(pid, *SPRING, 100, 91), kit.term(pid, *SPRING, 100, 50), kit.term(pid, *SUMMER, 100, 92)]
        report = await kit.load(session, rows)
        assert (report.rows_total, report.rows_loaded, report.rows_already_present) == (3, 2, 1)
        stored = (
            await session.scalars(
                select(AttendanceRecord.attended_sessions)
                .where(AttendanceRecord.person_id == pid)
                .order_by(AttendanceRecord.term_start)
            )
        ).all()
        assert stored == [91, 92]
        again = await kit.load(session, rows)
        assert (again.rows_loaded, again.rows_already_present, again.rows_rejected) == (0, 3, 0)


async def test_concurrent_imports_of_one_file_do_not_collide(fresh_outcomes_db: str, kit: Any) -> None:
    engine = create_async_engine(async_url(fresh_outcomes_db), poolclass=NullPool)
    factory = async_sessionmaker(engine, expire_on_commit=False)
    try:
        child = kit.person("child", "2015-05-01")
        pid = child["person_id"]
        async with factory() as session:
            await kit.enrol(session, kit.assessment(["education", "crime", "health"], [child]))
            await session.commit()
        rows = [kit.term(pid, *SPRING, 100, 91), kit.term(pid, *SUMMER, 100, 92)]
        async with factory() as first, factory() as second:
            first_report = await kit.load(first, rows)  # holds the merge lock until it commits
            second_task = asyncio.create_task(kit.load(second, rows))
            await asyncio.sleep(0.5)
            assert not second_task.done()  # queued behind the first merge, not failing on the unique key
            await first.commit()
            second_report = await asyncio.wait_for(second_task, timeout=30)
            await second.commit()
        assert (first_report.rows_loaded, first_report.rows_already_present) == (2, 0)
        assert (second_report.rows_loaded, second_report.rows_already_present) == (0, 2)
        async with factory() as session:
            count = await session.scalar(text("SELECT count(*) FROM attendance_records"))
        assert count == 2
    finally:
        await engine.dispose()
