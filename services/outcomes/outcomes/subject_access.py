"""Subject access requests: everything the outcomes service holds about one person, as JSON.

The person is found by NHS number or UPN. Exported: their person row, the enrolments of families they are a
member of (with need results and claims), their own observations (attendance, status periods, incidents) and
the family-level observations of those families (incidents recorded against the family, practitioner
assessments). Every exported record gets an `export` row in the access log, written after the log was read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import (
    AttendanceRecord,
    Claim,
    Enrolment,
    EnrolmentMember,
    Incident,
    NeedResult,
    Person,
    PractitionerAssessment,
    StatusPeriod,
    platform,
)
from shared.audit import record_access
from shared.auth import Principal
from shared.subject_access import PURPOSE, access_log, row_json, subject_access_router


async def _all(session: AsyncSession, statement: Any) -> Sequence[Any]:
    return (await session.scalars(statement)).all()


async def _observations(
    session: AsyncSession, person_ids: Sequence[uuid.UUID], family_ids: Sequence[uuid.UUID]
) -> dict[str, Sequence[Any]]:
    """The observations about these people, and the family-level ones of their families."""
    return {
        "attendance": await _all(
            session,
            select(AttendanceRecord)
            .where(AttendanceRecord.person_id.in_(person_ids))
            .order_by(AttendanceRecord.term_start, AttendanceRecord.id),
        ),
        "status_periods": await _all(
            session,
            select(StatusPeriod)
            .where(StatusPeriod.person_id.in_(person_ids))
            .order_by(StatusPeriod.period_start, StatusPeriod.id),
        ),
        "incidents": await _all(
            session,
            select(Incident)
            .where(or_(Incident.person_id.in_(person_ids), Incident.family_id.in_(family_ids)))
            .order_by(Incident.occurred_on, Incident.id),
        ),
        "practitioner_assessments": await _all(
            session,
            select(PractitionerAssessment)
            .where(PractitionerAssessment.family_id.in_(family_ids))
            .order_by(PractitionerAssessment.assessed_on, PractitionerAssessment.id),
        ),
    }


async def export_subject(
    session: AsyncSession,
    *,
    nhs_number: str | None,
    upn: str | None,
    actor: Principal | str,
    person_ids: Collection[uuid.UUID] = (),
) -> dict[str, Any]:
    """The person, their families' enrolments, results and claims, the observations about them, the accesses.

    Found by NHS number, UPN or the cases person ids `earlyhelp sar` learnt first (outcomes shares cases' ids).
    """
    conditions = []
    if nhs_number:
        conditions.append(Person.nhs_number == nhs_number)
    if upn:
        conditions.append(Person.upn == upn)
    if person_ids:
        conditions.append(Person.id.in_(list(person_ids)))
    if not conditions:
        return {"people": [], "enrolments": [], "observations": {}, "claims": [], "access_log": []}
    people = await _all(session, select(Person).where(or_(*conditions)).order_by(Person.id))
    person_ids = [p.id for p in people]
    members = await _all(session, select(EnrolmentMember).where(EnrolmentMember.person_id.in_(person_ids)))
    enrolments = await _all(
        session,
        select(Enrolment)
        .where(Enrolment.id.in_([m.enrolment_id for m in members]))
        .order_by(Enrolment.start_date, Enrolment.id),
    )
    enrolment_ids = [e.id for e in enrolments]
    family_ids = sorted({e.family_id for e in enrolments}, key=str)
    results = await _all(
        session,
        select(NeedResult).where(NeedResult.enrolment_id.in_(enrolment_ids)).order_by(NeedResult.need),
    )
    claims = await _all(
        session,
        select(Claim)
        .where(or_(Claim.enrolment_id.in_(enrolment_ids), Claim.family_id.in_(family_ids)))
        .order_by(Claim.created_at, Claim.id),
    )
    observations = await _observations(session, person_ids, family_ids)
    role_of = {m.enrolment_id: m.role for m in members}
    results_of: dict[uuid.UUID, list[dict[str, Any]]] = {e: [] for e in enrolment_ids}
    for result in results:
        results_of[result.enrolment_id].append(row_json(result))

    audited: dict[str, list[Any]] = {
        "person": person_ids,
        "enrolment": enrolment_ids,
        "claim": [c.id for c in claims],
        "attendance_record": [o.id for o in observations["attendance"]],
        "status_period": [o.id for o in observations["status_periods"]],
        "incident": [o.id for o in observations["incidents"]],
        "practitioner_assessment": [o.id for o in observations["practitioner_assessments"]],
    }
    # Progress reads are logged against the family (record_type family_progress), so the families count too.
    logged_ids = [str(i) for ids in audited.values() for i in ids] + [str(f) for f in family_ids]
    log = await access_log(session, platform, logged_ids)
    for record_type, ids in audited.items():
        await record_access(
            session, platform, actor=actor, action="export", record_type=record_type, record_ids=ids, purpose=PURPOSE
        )
    return {
        "people": [row_json(p) for p in people],
        "enrolments": [
            {**row_json(e), "member_role": role_of.get(e.id), "need_results": results_of[e.id]} for e in enrolments
        ],
        "observations": {kind: [row_json(o) for o in rows] for kind, rows in observations.items()},
        "claims": [row_json(c) for c in claims],
        "access_log": log,
    }


router = subject_access_router(export_subject)
