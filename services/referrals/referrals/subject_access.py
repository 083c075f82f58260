"""Subject access requests: everything the referrals service holds about one person, as JSON.

A referral names several people; the data subject's own entries are exported in full, the others only by
their role (third-party data is not the subject's to receive). Every exported record gets an `export` row in
the access log, written after the log was read so the export lists the accesses before this one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from referrals.models import Referral, ReferralPerson, platform
from shared.audit import record_access
from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import UnprocessableContent, field_error
from shared.identifiers import UPN, NHSNumber

PURPOSE = "subject access request"
router = APIRouter(tags=["subject access"])


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def _columns(obj: object) -> dict[str, Any]:
    """The row's column values, JSON-ready (relationships are not touched)."""
    return {attr.key: _json(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs}


def _is_subject(person: ReferralPerson, nhs_number: str | None, upn: str | None) -> bool:
    return bool((nhs_number and person.nhs_number == nhs_number) or (upn and person.upn == upn))


async def access_log(session: AsyncSession, record_ids: list[str]) -> list[dict[str, Any]]:
    """The access-log rows about these records, oldest first (hashes left out: they are not personal data)."""
    if not record_ids:
        return []
    log = platform.audit_log
    rows = await session.execute(
        select(
            log.c.seq,
            log.c.occurred_at,
            log.c.actor,
            log.c.action,
            log.c.record_type,
            log.c.record_id,
            log.c.purpose,
        )
        .where(log.c.record_id.in_(record_ids))
        .order_by(log.c.seq)
    )
    return [{key: _json(value) for key, value in row._mapping.items()} for row in rows]


async def export_subject(
    session: AsyncSession, *, nhs_number: str | None, upn: str | None, actor: Principal | str
) -> dict[str, Any]:
    """Every referral naming the person (with its people, history and decision) and the accesses to them."""
    conditions = []
    if nhs_number:
        conditions.append(ReferralPerson.nhs_number == nhs_number)
    if upn:
        conditions.append(ReferralPerson.upn == upn)
    if not conditions:
        return {"referrals": [], "access_log": []}
    naming = select(ReferralPerson.referral_id).where(or_(*conditions))
    referrals = (
        await session.scalars(
            select(Referral)
            .where(Referral.id.in_(naming))
            .options(selectinload(Referral.people), selectinload(Referral.history))
            .order_by(Referral.received_at, Referral.id)
        )
    ).all()
    exported: list[dict[str, Any]] = []
    subject_people: list[uuid.UUID] = []
    for referral in referrals:
        people = []
        for person in referral.people:
            if _is_subject(person, nhs_number, upn):
                subject_people.append(person.id)
                people.append({**_columns(person), "data_subject": True})
            else:
                people.append({"ref": person.ref, "role": person.role, "data_subject": False, "redacted": True})
        exported.append(
            {
                **_columns(referral),
                "people": people,
                "history": [_columns(change) for change in referral.history],
            }
        )
    referral_ids = [r.id for r in referrals]
    log = await access_log(session, [str(i) for i in [*referral_ids, *subject_people]])
    await record_access(
        session,
        platform,
        actor=actor,
        action="export",
        record_type="referral",
        record_ids=referral_ids,
        purpose=PURPOSE,
    )
    await record_access(
        session,
        platform,
        actor=actor,
        action="export",
        record_type="referral_person",
        record_ids=subject_people,
        purpose=PURPOSE,
    )
    return {"referrals": exported, "access_log": log}


def identifiers(
    nhs_number: Annotated[NHSNumber | None, Query(description="The person's NHS number")] = None,
    upn: Annotated[UPN | None, Query(description="The person's Unique Pupil Number")] = None,
) -> tuple[str | None, str | None]:
    """The subject's identifiers, validated; at least one is required."""
    if nhs_number is None and upn is None:
        raise UnprocessableContent(
            "give the subject's NHS number or UPN",
            errors=[field_error("#query/nhs_number", "an NHS number or a UPN is required", "missing")],
        )
    return nhs_number, upn


@router.get("/v1/admin/subject-access", summary="Export everything held about one person (admin only)")
async def subject_access(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    subject: Annotated[tuple[str | None, str | None], Depends(identifiers)],
) -> dict[str, Any]:
    nhs_number, upn = subject
    return await export_subject(session, nhs_number=nhs_number, upn=upn, actor=principal)
