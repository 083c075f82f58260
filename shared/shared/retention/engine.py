"""The retention run: what is due on a clock, what a legal hold keeps, and erasing the rest with a tombstone.

A service describes each kind of record it keeps as a `RetentionSource` (its record type in the schedule, the
query of what is due, and how to erase it); `run_retention` runs them all in the caller's transaction. A dry
run returns the same report and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import record_access
from shared.platform_tables import PlatformTables
from shared.retention.schedule import RetentionRule, Schedule
from shared.retention.tables import RetentionTables


@dataclass(frozen=True)
class Candidate:
    """One record (or, for the audit log, one range of rows) that is due. Carries no personal data."""

    record_type: str
    record_id: str
    due_on: date
    reason: str
    family_id: uuid.UUID | None = None
    rows: int = 1


class RetentionSource(Protocol):
    record_type: str

    async def due(self, session: AsyncSession, rule: RetentionRule, as_of: date) -> list[Candidate]: ...

    async def erase(self, session: AsyncSession, rule: RetentionRule, candidates: list[Candidate]) -> None: ...


@dataclass
class RetentionItem:
    service: str
    record_type: str
    record_id: str
    action: str
    due_on: str
    reason: str
    rows: int
    outcome: str  # "erased", "anonymised", "pruned", "would go", "held"


@dataclass
class RetentionReport:
    service: str
    as_of: str
    dry_run: bool
    schedule: str
    items: list[RetentionItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_DONE = {"erase": "erased", "anonymise": "anonymised", "prune": "pruned"}


async def active_holds(session: AsyncSession, tables: RetentionTables) -> set[uuid.UUID]:
    h = tables.legal_holds
    rows = await session.execute(select(h.c.family_id).where(h.c.released_at.is_(None)).distinct())
    return set(rows.scalars())


async def run_retention(
    session: AsyncSession,
    *,
    service: str,
    sources: list[RetentionSource],
    schedule: Schedule,
    tables: RetentionTables,
    platform: PlatformTables,
    as_of: date,
    dry_run: bool,
    actor: str,
) -> RetentionReport:
    """Erase (or anonymise, or prune) what each source says is due on `as_of`, except what a legal hold keeps."""
    report = RetentionReport(service=service, as_of=as_of.isoformat(), dry_run=dry_run, schedule=schedule.source)
    # one run at a time per database (the CronJob, the CLI and the admin call may meet): the second waits
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('earlyhelp_retention_run'))"))
    held = await active_holds(session, tables)
    for source in sources:
        rule = schedule.rule(source.record_type)
        if rule is None or not rule.enabled:
            continue
        due = await source.due(session, rule, as_of)
        kept = [c for c in due if c.family_id is not None and c.family_id in held]
        going = [c for c in due if c not in kept]
        report.items += [_item(service, rule, c, "held") for c in kept]
        report.items += [_item(service, rule, c, "would go" if dry_run else _DONE[rule.action]) for c in going]
        if dry_run or not going:
            continue
        await source.erase(session, rule, going)
        await session.execute(
            tables.tombstones.insert(),
            [
                {
                    "record_type": c.record_type,
                    "record_id": c.record_id,
                    "action": rule.action,
                    "rule": rule.describe(),
                    # the run's clock, not the record's own due day: for a family that day is a child's 25th birthday
                    "due_on": as_of,
                    "erased_by": actor,
                }
                for c in going
            ],
        )
        await record_access(
            session,
            platform,
            actor=actor,
            action=f"retention.{rule.action}",
            record_type=source.record_type,
            record_ids=[c.record_id for c in going],
            purpose="retention schedule",
            details={"as_of": as_of.isoformat()},
        )
    return report


def _item(service: str, rule: RetentionRule, c: Candidate, outcome: str) -> RetentionItem:
    return RetentionItem(
        service=service,
        record_type=c.record_type,
        record_id=c.record_id,
        action=rule.action,
        due_on=c.due_on.isoformat(),
        reason=c.reason if outcome != "held" else f"{c.reason}; kept: the family is under a legal hold",
        rows=c.rows,
        outcome=outcome,
    )
