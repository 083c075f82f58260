"""Subject access requests: everything the referrals service holds about one person, as JSON.

A referral names several people; the data subject's own entries are exported in full, the others only by
their role (third-party data is not the subject's to receive). Every exported record gets an `export` row in
the access log, written after the log was read so the export lists the accesses before this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from referrals.models import Referral, ReferralPerson, platform
from shared.audit import record_access
from shared.auth import Principal
from shared.subject_access import PURPOSE, access_log, row_json, subject_access_router


def _is_subject(
    person: ReferralPerson, nhs_number: str | None, upn: str | None, person_ids: Collection[uuid.UUID]
) -> bool:
    return bool(
        (nhs_number and person.nhs_number == nhs_number)
        or (upn and person.upn == upn)
        or (person.matched_person_id is not None and person.matched_person_id in person_ids)
    )


async def export_subject(
    session: AsyncSession,
    *,
    nhs_number: str | None,
    upn: str | None,
    actor: Principal | str,
    person_ids: Collection[uuid.UUID] = (),
) -> dict[str, Any]:
    """Every referral naming the person (with its people, history and decision) and the accesses to them.

    The person is found by NHS number, UPN, or — as `earlyhelp sar` does, asking cases first —
    by the cases person ids they were matched to (a referral naming a baby or a pupil without the identifier).
    """
    conditions = []
    if nhs_number:
        conditions.append(ReferralPerson.nhs_number == nhs_number)
    if upn:
        conditions.append(ReferralPerson.upn == upn)
    if person_ids:
        conditions.append(ReferralPerson.matched_person_id.in_(list(person_ids)))
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
            if _is_subject(person, nhs_number, upn, person_ids):
                subject_people.append(person.id)
                people.append({**row_json(person), "data_subject": True})
            else:
                people.append({"ref": person.ref, "role": person.role, "data_subject": False, "redacted": True})
        exported.append(
            {
                **row_json(referral),
                "people": people,
                "history": [row_json(change) for change in referral.history],
            }
        )
    referral_ids = [r.id for r in referrals]
    log = await access_log(session, platform, [str(i) for i in [*referral_ids, *subject_people]])
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


router = subject_access_router(export_subject)
