"""A cohort evaluation split by enrolment over several connections stores exactly what one transaction would,
covers every enrolment once, and leaves nothing of a run one of whose shards failed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from outcomes.app import create_app
from outcomes.config import Settings
from outcomes.evaluation.repository import EvaluationRepository, Shard
from outcomes.models import Enrolment, EvaluationRun, NeedResult
from shared.db import async_url
from tests.support import app_client, auth, make_token

AS_OF = date(2026, 1, 31)
ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))
TERMS = [("2025-01-06", "2025-03-28"), ("2025-04-22", "2025-07-18"), ("2025-09-03", "2025-12-19")]


@pytest.fixture
async def sessions(fresh_outcomes_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on their own connections (a pool), as the service has: the shards really run at once."""
    engine = create_async_engine(async_url(fresh_outcomes_db), pool_size=5)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def _cohort(factory: async_sessionmaker[AsyncSession], kit: Any, families: int) -> None:
    """`families` enrolled families with needs and observations that make some needs met and others not."""
    async with factory() as session:
        for i in range(families):
            child = kit.person("child", "2015-05-01")
            needs = ["education", "crime", "health"] if i % 3 else ["education", "domestic_abuse"]
            await kit.enrol(session, kit.assessment(needs, [child, kit.person("parent_carer", "1985-01-01")]))
            attended = 95 if i % 2 else 80  # 95% meets the 90% threshold, 80% does not
            await kit.load(session, [kit.term(child["person_id"], *t, 100, attended) for t in TERMS])
        await session.commit()


def _in(shard: Shard, enrolment_id: uuid.UUID) -> bool:
    return (shard.start is None or enrolment_id >= shard.start) and (shard.below is None or enrolment_id < shard.below)


async def test_shards_split_the_cohort_into_even_parts_that_cover_every_enrolment_once(
    sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with sessions() as session:
        repo = EvaluationRepository(session)
        assert await repo.shards(kit.SETTINGS.programme_phase, 3) == [Shard()]  # nobody enrolled: one open range
    await _cohort(sessions, kit, 7)
    async with sessions() as session:
        repo = EvaluationRepository(session)
        ids = list(await session.scalars(select(Enrolment.id)))
        assert len(ids) == 7
        for count in (1, 2, 3, 7, 10):
            shards = await repo.shards(kit.SETTINGS.programme_phase, count)
            assert len(shards) == min(count, 7)  # never an empty part
            assert shards[0].start is None and shards[-1].below is None
            # every enrolment in exactly one shard, and the parts as even as 7 allows
            assert all(sum(_in(shard, i) for shard in shards) == 1 for i in ids)
            sizes = [sum(_in(shard, i) for i in ids) for shard in shards]
            assert max(sizes) - min(sizes) <= 1, sizes


async def test_a_cohort_split_over_connections_stores_what_one_transaction_would(
    sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    await _cohort(sessions, kit, 9)
    settings = kit.SETTINGS.model_copy(update={"evaluation_shards": 3})
    async with sessions() as session:
        split = await kit.evaluation(session, settings, sessions).evaluate(family_id=None, as_of=AS_OF, actor="test")
        await session.commit()
    # 6 families with three needs, 3 with two
    assert (split.families, split.results, split.changed, split.shards) == (9, 24, 24, 3)
    async with sessions() as session:
        run = await session.get(EvaluationRun, split.id)
        assert run is not None and (run.status, run.families, run.results) == ("completed", 9, 24)
        assert run.finished_at is not None
        stored = (await session.scalars(select(NeedResult))).all()
        assert len(stored) == 24 and {r.run_id for r in stored} == {split.id}
        assert sum(r.met for r in stored) == split.met
        # The same evaluation in one transaction finds every stored result already right: it writes nothing.
        whole = await kit.evaluation(session, kit.SETTINGS).evaluate(family_id=None, as_of=AS_OF, actor="test")
        await session.commit()
    assert (whole.families, whole.results, whole.met, whole.changed, whole.shards) == (9, 24, split.met, 0, 1)


async def test_a_failed_shard_leaves_no_result_of_the_run_and_the_run_failed(
    sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    await _cohort(sessions, kit, 6)
    settings = kit.SETTINGS.model_copy(update={"evaluation_shards": 3})
    async with sessions() as session:
        shards = await EvaluationRepository(session).shards(settings.programme_phase, 3)
        ids = sorted(await session.scalars(select(Enrolment.id)))
        # The last shard's last enrolment cannot be stored: the first two shards succeed, the last one fails.
        doomed = ids[-1]
        assert _in(shards[-1], doomed) and not _in(shards[0], doomed)
        await session.execute(
            text(
                "CREATE FUNCTION refuse_result() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'disk full (test)'; END $$"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER refuse_result BEFORE INSERT ON need_results FOR EACH ROW "
                f"WHEN (NEW.enrolment_id = '{doomed}') EXECUTE FUNCTION refuse_result()"
            )
        )
        await session.commit()
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="disk full"):
            await kit.evaluation(session, settings, sessions).evaluate(family_id=None, as_of=AS_OF, actor="test")
        await session.rollback()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(NeedResult)) == 0
        runs = (await session.scalars(select(EvaluationRun))).all()
        assert [(r.status, r.results) for r in runs] == [("failed", 0)]
        assert runs[0].finished_at is not None
        await session.execute(text("DROP TRIGGER refuse_result ON need_results"))
        await session.commit()
    async with sessions() as session:
        again = await kit.evaluation(session, settings, sessions).evaluate(family_id=None, as_of=AS_OF, actor="test")
        await session.commit()
    assert (again.families, again.changed) == (6, again.results)


async def test_the_endpoint_splits_a_cohort_over_the_apps_own_connections(
    fresh_outcomes_db: str, sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    """`POST /v1/evaluations` in an app with its own pool (no test sessions): the shards' sessions come from it."""
    await _cohort(sessions, kit, 5)
    async with app_client(create_app, Settings, fresh_outcomes_db, evaluation_shards=2) as client:
        response = await client.post("/v1/evaluations", json={"as_of": AS_OF.isoformat()}, headers=ANALYST)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["families"], body["changed"], body["shards"]) == (5, body["results"], 2)
    async with sessions() as session:
        run = await session.get(EvaluationRun, uuid.UUID(body["id"]))
        assert run is not None and (run.status, run.families, run.results) == ("completed", 5, body["results"])
        stored = await session.scalar(select(func.count()).select_from(NeedResult).where(NeedResult.run_id == run.id))
        assert stored == body["results"]


def test_more_shards_than_the_pool_can_give_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="evaluation_shards"):
        Settings(
            database_url="postgresql://unused/unused",
            evaluation_shards=8,
            database_pool_size=4,
            database_max_overflow=4,
        )
    assert (
        Settings(
            database_url="postgresql://unused/unused",
            evaluation_shards=7,
            database_pool_size=4,
            database_max_overflow=4,
        ).evaluation_shards
        == 7
    )
