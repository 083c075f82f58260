"""Pruning the access log without breaking its chain: the last pruned row's hash is kept in a checkpoint first,
and `shared.audit.verify_chain` links the first remaining row to it. The trigger of
`shared.retention.migration` lets only checkpointed rows go, and only inside a run that asks for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.platform_tables import PlatformTables
from shared.retention.engine import Candidate
from shared.retention.schedule import RetentionRule
from shared.retention.tables import RetentionTables


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class AuditLogSource:
    record_type = "audit.log"

    def __init__(self, platform: PlatformTables, tables: RetentionTables, *, actor: str) -> None:
        self.platform = platform
        self.tables = tables
        self.actor = actor

    async def due(self, session: AsyncSession, rule: RetentionRule, as_of: date) -> list[Candidate]:
        a = self.platform.audit_log
        before = _start_of(rule.cutoff(as_of))
        row = (
            await session.execute(
                select(func.min(a.c.seq), func.max(a.c.seq), func.count(), func.max(a.c.occurred_at)).where(
                    a.c.occurred_at < before
                )
            )
        ).one()
        first, last, count, newest = row
        if not count:
            return []
        return [
            Candidate(
                record_type=self.record_type,
                record_id=f"seq {first}-{last}",
                due_on=rule.due_on(newest.date()),
                reason=f"logged before {before.date().isoformat()}; {rule.describe()}",
                rows=int(count),
            )
        ]

    async def erase(self, session: AsyncSession, rule: RetentionRule, candidates: list[Candidate]) -> None:
        a, cp = self.platform.audit_log, self.tables.audit_checkpoints
        for candidate in candidates:
            last = int(candidate.record_id.rsplit("-", 1)[1])
            through_hash = (await session.execute(select(a.c.hash).where(a.c.seq == last))).scalar_one()
            newest = (await session.execute(select(a.c.occurred_at).where(a.c.seq == last))).scalar_one()
            await session.execute(
                cp.insert().values(
                    through_seq=last,
                    through_hash=through_hash,
                    rows_pruned=candidate.rows,
                    pruned_before=newest,
                    created_by=self.actor,
                )
            )
            await session.execute(text("SELECT set_config('earlyhelp.audit_prune', 'on', true)"))
            await session.execute(a.delete().where(a.c.seq <= last))
            await session.execute(text("SELECT set_config('earlyhelp.audit_prune', 'off', true)"))
