"""What the outcomes service keeps and for how long (record type `outcomes.family` in
shared/retention/schedule.yaml): a family whose every enrolment is closed is kept for the programme's audit
period after its last closure or claim decision; then its enrolments (their results follow them), claims,
family-level observations and practitioner judgements go, and so do the people of it who are in no other
family's enrolment, with their observations."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import (
    AttendanceRecord,
    Claim,
    Enrolment,
    EnrolmentMember,
    Incident,
    Person,
    PractitionerAssessment,
    StatusPeriod,
    platform,
    retention,
)
from shared.retention.audit_prune import AuditLogSource
from shared.retention.engine import Candidate, RetentionSource
from shared.retention.outbox import OutboxSource
from shared.retention.schedule import RetentionRule

_CLOCKS = text(
    """
    WITH enrolled AS (
        SELECT family_id, max(closed_on) AS last_closed, bool_or(closed_on IS NULL) AS any_open
        FROM enrolments GROUP BY family_id
    ), decided AS (
        SELECT family_id, max(decided_at)::date AS last_decided, bool_or(decided_at IS NULL) AS any_pending
        FROM claims GROUP BY family_id
    )
    SELECT e.family_id, greatest(e.last_closed, d.last_decided) AS clock
    FROM enrolled e LEFT JOIN decided d ON d.family_id = e.family_id
    WHERE NOT e.any_open AND NOT coalesce(d.any_pending, false)
      AND greatest(e.last_closed, d.last_decided) <= :cutoff
    ORDER BY clock, e.family_id
    """
)


class Families:
    record_type = "outcomes.family"

    async def due(self, session: AsyncSession, rule: RetentionRule, as_of: date) -> list[Candidate]:
        rows = await session.execute(_CLOCKS, {"cutoff": rule.cutoff(as_of)})
        return [
            Candidate(
                record_type=self.record_type,
                record_id=str(r.family_id),
                due_on=rule.due_on(r.clock),
                reason=f"last closed or decided {r.clock.isoformat()}; {rule.describe()}",
                family_id=r.family_id,
            )
            for r in rows
        ]

    async def erase(self, session: AsyncSession, rule: RetentionRule, candidates: list[Candidate]) -> None:
        await erase_families(session, [uuid.UUID(c.record_id) for c in candidates])


async def erase_families(session: AsyncSession, families: list[uuid.UUID]) -> None:
    enrolments = select(Enrolment.id).where(Enrolment.family_id.in_(families))
    others = select(Enrolment.id).where(Enrolment.family_id.not_in(families))
    members = select(EnrolmentMember.person_id).where(EnrolmentMember.enrolment_id.in_(enrolments))
    elsewhere = select(EnrolmentMember.person_id).where(EnrolmentMember.enrolment_id.in_(others))
    people = list((await session.execute(members.except_(elsewhere))).scalars())
    await session.execute(delete(Claim).where(Claim.family_id.in_(families)))
    await session.execute(delete(Enrolment).where(Enrolment.family_id.in_(families)))  # members, results follow
    await session.execute(delete(Incident).where(Incident.family_id.in_(families)))
    await session.execute(delete(PractitionerAssessment).where(PractitionerAssessment.family_id.in_(families)))
    await erase_people(session, people)


async def erase_people(session: AsyncSession, people: list[uuid.UUID]) -> None:
    """These people's observations and their identifiers (callers check they are in no other enrolment)."""
    if not people:
        return
    await session.execute(delete(AttendanceRecord).where(AttendanceRecord.person_id.in_(people)))
    await session.execute(delete(StatusPeriod).where(StatusPeriod.person_id.in_(people)))
    await session.execute(delete(Incident).where(Incident.person_id.in_(people)))
    await session.execute(delete(EnrolmentMember).where(EnrolmentMember.person_id.in_(people)))
    await session.execute(delete(Person).where(Person.id.in_(people)))


def retention_sources(actor: str) -> list[RetentionSource]:
    """In run order; the audit log last, so that the run's own rows are not what it prunes."""
    return [Families(), OutboxSource(platform), AuditLogSource(platform, retention, actor=actor)]
