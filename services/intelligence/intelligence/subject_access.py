"""Subject access requests: everything the intelligence service holds about one person, as JSON.

The person is found by NHS number or UPN in the partner records; exported are those records, every record
linked to the same person by the latest linkage run, and the identified families they are a member of. Every
exported record gets an `export` row in the access log, written after the log was read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intelligence.models import IdentifiedFamily, PartnerRecord, RecordLink, platform
from shared.audit import record_access
from shared.auth import Principal
from shared.subject_access import PURPOSE, access_log, row_json, subject_access_router


async def export_subject(
    session: AsyncSession,
    *,
    nhs_number: str | None,
    upn: str | None,
    actor: Principal | str,
    person_ids: Collection[uuid.UUID] = (),
) -> dict[str, Any]:
    """Partner records naming the person by NHS number or UPN, the identified families they are in, the accesses.

    `person_ids` (the cases person index's) are not the intelligence service's: its people are partner records.
    """
    conditions = []
    if nhs_number:
        conditions.append(PartnerRecord.nhs_number == nhs_number)
    if upn:
        conditions.append(PartnerRecord.upn == upn)
    if not conditions:
        return {"partner_records": [], "identified_families": [], "access_log": []}
    direct = (await session.scalars(select(PartnerRecord.id).where(or_(*conditions)))).all()
    people = (
        await session.scalars(select(RecordLink.person_key).where(RecordLink.record_pk.in_(direct)).distinct())
    ).all()
    linked = (await session.scalars(select(RecordLink.record_pk).where(RecordLink.person_key.in_(people)))).all()
    records = (
        await session.scalars(
            select(PartnerRecord).where(PartnerRecord.id.in_({*direct, *linked})).order_by(PartnerRecord.id)
        )
    ).all()
    families = (
        await session.scalars(
            select(IdentifiedFamily)
            .where(or_(*(IdentifiedFamily.members.contains([{"person_key": p}]) for p in people or [""])))
            .order_by(IdentifiedFamily.identified_at)
        )
    ).all()
    logged = [str(r.id) for r in records] + [str(f.id) for f in families]
    log = await access_log(session, platform, logged)
    for record_type, ids in (
        ("partner_record", [r.id for r in records]),
        ("identified_family", [f.id for f in families]),
    ):
        await record_access(
            session, platform, actor=actor, action="export", record_type=record_type, record_ids=ids, purpose=PURPOSE
        )
    return {
        "partner_records": [row_json(r, leave_out={"row_hash"}) for r in records],
        "identified_families": [row_json(f) for f in families],
        "access_log": log,
    }


router = subject_access_router(export_subject)
