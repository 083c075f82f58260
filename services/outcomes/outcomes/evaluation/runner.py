"""The sharded cohort evaluation: the one place in the outcomes service that commits.

A cohort is split by enrolment into `settings.evaluation_shards` parts, each evaluated on its own connection at
once (PostgreSQL runs one statement on one core). The run row and the other shards' sessions commit here; the
request's own session still commits last, after the handler returns (see `evaluate_in_shards`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.evaluation.repository import EvaluationRepository, Shard, VersionRules


@dataclass(frozen=True)
class ShardWork:
    versions: list[VersionRules]
    as_of: date
    phase: str
    family_id: uuid.UUID | None


async def evaluate_shard(
    repo: EvaluationRepository, work: ShardWork, run_id: uuid.UUID, shard: Shard
) -> tuple[int, int, int]:
    """Evaluate the enrolments of `shard` in `repo`'s transaction: (results, met, changed)."""
    await repo.tune_for_evaluation(cohort=work.family_id is None)
    results = met = changed = 0
    for version in work.versions:
        counts = await repo.evaluate_framework(
            version, run_id=run_id, as_of=work.as_of, phase=work.phase, family_id=work.family_id, shard=shard
        )
        results += int(counts.results)
        met += int(counts.met)
        changed += int(counts.changed)
    return results, met, changed


async def evaluate_in_shards(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    work: ShardWork,
    shards: Sequence[Shard],
    actor: str,
) -> tuple[uuid.UUID, tuple[int, int, int]]:
    """Evaluate a cohort in parts at once: the first in `session`, each other in a session of its own.

    PostgreSQL runs a statement on one core, and cannot run an INSERT's query in parallel; a cohort split by
    enrolment id over N connections takes about 1/N of the time where the server has the cores. The request's
    session holds the cohort lock (`lock_for_evaluation`) throughout, so no other evaluation runs meanwhile.

    The shards' results refer to the run, so the run is committed first, as `running`. The other sessions
    commit only once every shard's statements have succeeded, and the request's session last (with the run
    marked `completed`): a failed or timed-out shard leaves no result of this run, and the run `failed`. Only
    a crash between those commits can leave part of a run stored; each family's results are then still one
    consistent set (a family's enrolment is in one shard), and the run stays `running` until evaluated again.
    """
    async with sessions() as own:
        run_id = await EvaluationRepository(own).add_run(as_of=work.as_of, family_id=None, started_by=actor)
        await own.commit()
    try:
        async with contextlib.AsyncExitStack() as stack:
            others = [await stack.enter_async_context(sessions()) for _ in shards[1:]]
            tasks = [
                asyncio.create_task(evaluate_shard(EvaluationRepository(shard_session), work, run_id, shard))
                for shard_session, shard in zip([session, *others], shards, strict=True)
            ]
            try:
                counts = await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            for other in others:
                await other.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            async with sessions() as own:
                await EvaluationRepository(own).fail_run(run_id)
                await own.commit()
        raise
    return run_id, (sum(c[0] for c in counts), sum(c[1] for c in counts), sum(c[2] for c in counts))
