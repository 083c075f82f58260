"""Published events past their period: their payloads carry personal data, so they go once no delivery of them is
still pending (their deliveries and attempts go with them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.platform_tables import PlatformTables
from shared.retention.engine import Candidate
from shared.retention.schedule import RetentionRule


class OutboxSource:
    record_type = "outbox.event"

    def __init__(self, platform: PlatformTables) -> None:
        self.platform = platform

    def _due(self, before: datetime) -> ColumnElement[bool]:
        e, d = self.platform.outbox_events, self.platform.outbox_deliveries
        pending = exists().where(and_(d.c.event_id == e.c.id, d.c.status == "pending"))
        return and_(e.c.time < before, ~pending)

    async def due(self, session: AsyncSession, rule: RetentionRule, as_of: date) -> list[Candidate]:
        e = self.platform.outbox_events
        before = datetime.combine(rule.cutoff(as_of), time.min, tzinfo=UTC)
        count, newest = (await session.execute(select(func.count(), func.max(e.c.time)).where(self._due(before)))).one()
        if not count:
            return []
        return [
            Candidate(
                record_type=self.record_type,
                record_id=f"published before {before.date().isoformat()}",
                due_on=rule.due_on(newest.date()),
                reason=f"{count} delivered events; {rule.describe()}",
                rows=int(count),
            )
        ]

    async def erase(self, session: AsyncSession, rule: RetentionRule, candidates: list[Candidate]) -> None:
        for candidate in candidates:
            before = datetime.combine(date.fromisoformat(candidate.record_id.rsplit(" ", 1)[1]), time.min, tzinfo=UTC)
            await session.execute(self.platform.outbox_events.delete().where(self._due(before)))
