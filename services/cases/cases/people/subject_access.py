"""Subject access requests: everything the cases service holds about one person, as JSON.

The person is found by NHS number or UPN, together with every duplicate merged into them (or that they were
merged into). Exported: those person rows and their merges, their own family memberships and relationships,
the families they belong or belonged to, and every case of those families with its referrals, steps, lead
workers, assessments, plan versions, reviews and contacts (notes included, sensitive ones too: a subject
access request is for the data subject). Other members' person rows are not exported. Every exported record
gets an `export` row in the access log, written after the log was read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
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
    PersonMerge,
    Plan,
    Review,
    platform,
)
from cases.people.repository import PeopleRepository
from shared.audit import record_access
from shared.auth import Principal
from shared.subject_access import PURPOSE, access_log, row_json, subject_access_router

# Person rows are not the subject's if they are someone else; their keys are matching internals.
_PERSON_INTERNAL = {"given_key", "family_key"}


async def _people(session: AsyncSession, nhs_number: str | None, upn: str | None) -> list[Person]:
    """The person with these identifiers and everyone merged with them, in either direction, transitively."""
    found = {p.id: p for p in await PeopleRepository(session).people_by_identifiers(nhs_number, upn)}
    while True:
        ids = set(found)
        survivors = {p.merged_into_id for p in found.values() if p.merged_into_id is not None} - ids
        linked = (
            await session.scalars(select(Person).where(or_(Person.merged_into_id.in_(ids), Person.id.in_(survivors))))
        ).all()
        new = [p for p in linked if p.id not in found]
        if not new:
            break
        found.update({p.id: p for p in new})
    return sorted(found.values(), key=lambda p: (p.created_at, str(p.id)))


async def _all(session: AsyncSession, statement: Any) -> Sequence[Any]:
    return (await session.scalars(statement)).all()


async def export_subject(
    session: AsyncSession, *, nhs_number: str | None, upn: str | None, actor: Principal | str
) -> dict[str, Any]:
    """The person (with merged duplicates), their families, the families' cases and the accesses to them."""
    people = await _people(session, nhs_number, upn)
    person_ids = [p.id for p in people]
    merges = await _all(
        session,
        select(PersonMerge)
        .where(or_(PersonMerge.survivor_id.in_(person_ids), PersonMerge.merged_id.in_(person_ids)))
        .order_by(PersonMerge.merged_at, PersonMerge.id),
    )
    memberships = await _all(
        session,
        select(FamilyMember)
        .where(FamilyMember.person_id.in_(person_ids))
        .order_by(FamilyMember.joined_on, FamilyMember.id),
    )
    relationships = await _all(
        session,
        select(FamilyRelationship)
        .where(or_(FamilyRelationship.person_id.in_(person_ids), FamilyRelationship.related_person_id.in_(person_ids)))
        .order_by(FamilyRelationship.id),
    )
    family_ids = sorted({m.family_id for m in memberships}, key=str)
    families = await _all(session, select(Family).where(Family.id.in_(family_ids)).order_by(Family.created_at))
    cases = await _all(session, select(Case).where(Case.family_id.in_(family_ids)).order_by(Case.opened_at, Case.id))
    case_ids = [c.id for c in cases]

    def of_cases(model: Any, *order: Any) -> Any:
        return select(model).where(model.case_id.in_(case_ids)).order_by(*order)

    parts: dict[str, Sequence[Any]] = {
        "case_referrals": await _all(session, of_cases(CaseReferral, CaseReferral.received_at)),
        "case_steps": await _all(session, of_cases(CaseStep, CaseStep.on_date, CaseStep.id)),
        "lead_worker_assignments": await _all(
            session, of_cases(LeadWorkerAssignment, LeadWorkerAssignment.assigned_at, LeadWorkerAssignment.id)
        ),
        "assessments": await _all(session, of_cases(Assessment, Assessment.created_at, Assessment.id)),
        "plans": await _all(session, of_cases(Plan, Plan.case_id, Plan.version)),
        "reviews": await _all(session, of_cases(Review, Review.created_at, Review.id)),
        "contacts": await _all(session, of_cases(Contact, Contact.occurred_at, Contact.id)),
    }
    by_case: dict[uuid.UUID, dict[str, list[dict[str, Any]]]] = {c.id: {name: [] for name in parts} for c in cases}
    for name, rows in parts.items():
        for row in rows:
            by_case[row.case_id][name].append(row_json(row))

    audited: dict[str, list[Any]] = {
        "person": person_ids,
        "person_merge": [m.id for m in merges],
        "family_member": [m.id for m in memberships],
        "family_relationship": [r.id for r in relationships],
        "family": [f.id for f in families],
        "case": case_ids,
        "lead_worker_assignment": [a.id for a in parts["lead_worker_assignments"]],
        "case_step": [s.id for s in parts["case_steps"]],
        "assessment": [a.id for a in parts["assessments"]],
        "plan": [p.id for p in parts["plans"]],
        "review": [r.id for r in parts["reviews"]],
        "contact": [c.id for c in parts["contacts"]],
    }
    log = await access_log(session, platform, [str(i) for ids in audited.values() for i in ids])
    for record_type, ids in audited.items():
        await record_access(
            session, platform, actor=actor, action="export", record_type=record_type, record_ids=ids, purpose=PURPOSE
        )
    return {
        "people": [row_json(p, _PERSON_INTERNAL) for p in people],
        "merges": [row_json(m) for m in merges],
        "memberships": [row_json(m) for m in memberships],
        "relationships": [row_json(r) for r in relationships],
        "families": [row_json(f) for f in families],
        "cases": [{**row_json(c), **by_case[c.id]} for c in cases],
        "access_log": log,
    }


router = subject_access_router(export_subject)
