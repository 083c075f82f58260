"""What the cases service keeps and for how long (record type `cases.family` in shared/retention/schedule.yaml).

A family is due when its youngest child (a member in the role child, young person or unborn) reaches the
schedule's age — or, with no child's date, the schedule's years after its last case closed — and never while a
case is open. Its cases and everything recorded in them are erased, and its members who belong to no other
family are anonymised in the person index (the row stays, so that merges and ids elsewhere still resolve)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import (
    Assessment,
    Case,
    CaseReferral,
    CaseStep,
    Contact,
    Family,
    FamilyMember,
    FamilyRelationship,
    LeadWorkerAssignment,
    Person,
    Plan,
    Review,
    TeamAroundFamily,
    platform,
    retention,
)
from shared.retention.audit_prune import AuditLogSource
from shared.retention.engine import Candidate, RetentionSource
from shared.retention.outbox import OutboxSource
from shared.retention.schedule import RetentionRule

_DUE = text(
    """
    WITH youngest AS (
        SELECT m.family_id, max(coalesce(p.date_of_birth, m.expected_on)) AS born
        FROM family_members m LEFT JOIN people p ON p.id = m.person_id
        WHERE m.role IN ('child', 'young_person', 'unborn')
        GROUP BY m.family_id
    ), casework AS (
        SELECT family_id, max(closed_on) AS last_closed, bool_or(status <> 'closed') AS any_open
        FROM cases GROUP BY family_id
    ), clocks AS (
        SELECT f.id, y.born, c.last_closed,
               CASE WHEN y.born IS NOT NULL
                    THEN greatest((y.born + make_interval(years => :age))::date,
                                  coalesce(c.last_closed, f.created_at::date))
                    ELSE (coalesce(c.last_closed, f.created_at::date) + make_interval(years => :years))::date
               END AS due_on
        FROM families f
        LEFT JOIN youngest y ON y.family_id = f.id
        LEFT JOIN casework c ON c.family_id = f.id
        WHERE NOT coalesce(c.any_open, false)
    )
    SELECT id, born, last_closed, due_on FROM clocks WHERE due_on <= :as_of ORDER BY due_on, id
    """
)

ERASED = "[erased]"


class Families:
    record_type = "cases.family"

    async def due(self, session: AsyncSession, rule: RetentionRule, as_of: date) -> list[Candidate]:
        age = rule.until_youngest_child_age if rule.until_youngest_child_age is not None else 25
        rows = await session.execute(_DUE, {"age": age, "years": rule.keep_years or 0, "as_of": as_of})
        candidates = []
        for r in rows:
            if r.born is not None:
                why = f"youngest child {age} on {r.due_on.isoformat()}"
            else:
                why = f"no child's date; last case closed {r.last_closed.isoformat() if r.last_closed else 'never'}"
            candidates.append(
                Candidate(
                    record_type=self.record_type,
                    record_id=str(r.id),
                    due_on=r.due_on,
                    reason=f"{why}; {rule.describe()}",
                    family_id=r.id,
                )
            )
        return candidates

    async def erase(self, session: AsyncSession, rule: RetentionRule, candidates: list[Candidate]) -> None:
        families = [uuid.UUID(c.record_id) for c in candidates]
        members = select(FamilyMember.person_id).where(
            FamilyMember.family_id.in_(families), FamilyMember.person_id.is_not(None)
        )
        elsewhere = select(FamilyMember.person_id).where(
            FamilyMember.family_id.not_in(families), FamilyMember.person_id.is_not(None)
        )
        people = [p for p in (await session.execute(members.except_(elsewhere))).scalars() if p is not None]
        await erase_families(session, families)
        await anonymise_people(session, people)


async def erase_families(session: AsyncSession, families: list[uuid.UUID]) -> None:
    """Every case of the families and what was recorded in it, then their memberships and the families."""
    cases = select(Case.id).where(Case.family_id.in_(families)).scalar_subquery()
    for model in (Contact, Review, TeamAroundFamily, Plan, Assessment, LeadWorkerAssignment, CaseStep, CaseReferral):
        await session.execute(delete(model).where(model.case_id.in_(cases)))
    await session.execute(delete(Case).where(Case.family_id.in_(families)))
    await session.execute(delete(FamilyRelationship).where(FamilyRelationship.family_id.in_(families)))
    await session.execute(delete(FamilyMember).where(FamilyMember.family_id.in_(families)))
    await session.execute(delete(Family).where(Family.id.in_(families)))


async def anonymise_people(session: AsyncSession, people: list[uuid.UUID]) -> None:
    """Blank every personal field of these people in the index; matching can never find them again."""
    if not people:
        return
    await session.execute(
        update(Person)
        .where(Person.id.in_(bindparam("ids", people, expanding=True)))
        .values(
            given_name=ERASED,
            family_name=ERASED,
            date_of_birth=None,
            nhs_number=None,
            upn=None,
            postcode=None,
            address=None,
            given_key="",
            family_key="",
        )
    )


def retention_sources(actor: str) -> list[RetentionSource]:
    """In run order; the audit log last, so that the run's own rows are not what it prunes."""
    return [Families(), OutboxSource(platform), AuditLogSource(platform, retention, actor=actor)]
