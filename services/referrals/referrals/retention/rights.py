"""The referrals service's part of erasure (Art. 17) and rectification (Art. 16): cases announces them by person
id, and the referral people the person index matched to that person are erased or corrected; the referral and
its other people stay. Plus the legal-hold replica (`shared.retention.holds`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.models import ReferralPerson, platform, retention
from shared.audit import record_access
from shared.contracts.events import PersonErased, PersonRectified
from shared.events import CloudEvent, EventHandler
from shared.retention.holds import legal_hold_handlers
from shared.retention.identifiers import identifier_hash_sql

COPIED = ("given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode", "address")


def _copies_of(person_id: uuid.UUID, hashes: list[str]) -> ColumnElement[bool]:
    """The referral people matched to the person, or carrying one of their identifiers (by hash)."""
    condition = ReferralPerson.matched_person_id == person_id
    if hashes:
        condition = or_(
            condition,
            identifier_hash_sql("nhs", ReferralPerson.nhs_number).in_(hashes),
            identifier_hash_sql("upn", ReferralPerson.upn).in_(hashes),
        )
    return condition


async def on_person_erased(session: AsyncSession, event: CloudEvent) -> None:
    data = PersonErased.model_validate(event.data)
    gone = await session.execute(
        delete(ReferralPerson)
        .where(_copies_of(data.person_id, data.identifier_hashes))
        .returning(ReferralPerson.id, ReferralPerson.referral_id)
    )
    rows = gone.all()
    if not rows:
        return
    await session.execute(
        retention.tombstones.insert(),
        [
            {
                "record_type": "referral_person",
                "record_id": str(r.id),
                "action": "erase",
                "rule": f"erasure on request (UK GDPR Art. 17), {data.erasure_id}",
                "due_on": data.erased_at.date(),
                "erased_by": f"event:{event.source}",
            }
            for r in rows
        ],
    )
    await record_access(
        session,
        platform,
        actor=f"event:{event.source}",
        action="erase",
        record_type="referral",
        record_ids=sorted({str(r.referral_id) for r in rows}),
        purpose="erasure on request",
        details={"erasure_id": str(data.erasure_id)},
    )


async def on_person_rectified(session: AsyncSession, event: CloudEvent) -> None:
    data = PersonRectified.model_validate(event.data)
    values: dict[str, Any] = {k: v for k, v in data.changes.items() if k in COPIED}
    if not values:
        return
    changed = await session.execute(
        update(ReferralPerson)
        .where(_copies_of(data.person_id, data.identifier_hashes))
        .values(**values)
        .returning(ReferralPerson.referral_id)
    )
    referral_ids = sorted({str(r) for r in changed.scalars()})
    await record_access(
        session,
        platform,
        actor=f"event:{event.source}",
        action="rectify",
        record_type="referral",
        record_ids=referral_ids,
        purpose="rectification",
        details={"fields": sorted(values)},
    )


RIGHTS_EVENT_HANDLERS: dict[str, EventHandler] = {
    PersonErased.event_type: on_person_erased,
    PersonRectified.event_type: on_person_rectified,
    **legal_hold_handlers(retention),
}
