"""The access log is append-only and hash-chained: an edited or removed row is detected."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from referrals.models import platform
from shared.audit import record_access, verify_chain
from shared.db import async_url
from tests.support import rollback_sessionmaker


async def _write(session: AsyncSession, n: int, actor: str = "tester") -> None:
    await record_access(
        session,
        platform,
        actor=actor,
        action="read",
        record_type="referral",
        record_ids=range(n),
        purpose="test",
    )


async def test_chain_verifies_and_links(referrals_sessions: async_sessionmaker[AsyncSession]) -> None:
    async with referrals_sessions() as session:
        await _write(session, 5)
        rows = (await session.execute(text("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq"))).all()
        assert len(rows) == 5
        assert rows[0].prev_hash is None
        for before, after in itertools.pairwise(rows):
            assert after.prev_hash == before.hash
        report = await verify_chain(session)
        assert report.ok and report.rows == 5


async def test_application_cannot_update_or_delete(
    referrals_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with referrals_sessions() as session:
        await _write(session, 1)
        for statement in (
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(text(statement))


async def test_edited_row_is_detected(referrals_sessions: async_sessionmaker[AsyncSession]) -> None:
    async with referrals_sessions() as session:
        await _write(session, 4)
        # An attacker with superuser rights turns the guard off and edits history.
        await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable"))
        await session.execute(
            text("UPDATE audit_log SET actor = 'nobody' WHERE seq = (SELECT min(seq) + 1 FROM audit_log)")
        )
        first = (await session.execute(text("SELECT min(seq) FROM audit_log"))).scalar_one()
        report = await verify_chain(session)
        assert not report.ok
        assert report.first_bad_seq == first + 1
        assert "hash" in (report.reason or "")


async def test_removed_row_is_detected(referrals_sessions: async_sessionmaker[AsyncSession]) -> None:
    async with referrals_sessions() as session:
        await _write(session, 4)
        await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable"))
        await session.execute(text("DELETE FROM audit_log WHERE seq = (SELECT min(seq) + 1 FROM audit_log)"))
        report = await verify_chain(session)
        assert not report.ok
        assert "predecessor" in (report.reason or "")


async def test_concurrent_writers_keep_one_chain(fresh_referrals_db: str) -> None:
    engine = create_async_engine(async_url(fresh_referrals_db), pool_size=10)
    factory = async_sessionmaker(engine, expire_on_commit=False)

    async def writer(i: int) -> None:
        async with factory() as session, session.begin():
            await _write(session, 3, actor=f"writer-{i}")

    await asyncio.gather(*(writer(i) for i in range(20)))
    async with factory() as session:
        report = await verify_chain(session)
    await engine.dispose()
    assert report.ok
    assert report.rows == 60


async def test_rolled_back_session_fixture_leaves_nothing(referrals_db: str) -> None:
    async with rollback_sessionmaker(referrals_db) as factory, factory() as session:
        await _write(session, 2)
        await session.commit()
    async with rollback_sessionmaker(referrals_db) as factory, factory() as session:
        count = (await session.execute(text("SELECT count(*) FROM audit_log"))).scalar_one()
    assert count == 0
