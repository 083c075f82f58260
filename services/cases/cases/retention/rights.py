"""Legal holds, erasure (Art. 17), rectification (Art. 16) and consent withdrawals in cases, the service that owns
people and families. Each change is audited and announced (`family.legal_hold_placed` / `_released`,
`person.erased`, `person.rectified`) so that referrals and outcomes apply it to what they hold."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import (
    CaseReferral,
    ConsentWithdrawal,
    Family,
    FamilyMember,
    Person,
    PersonErasure,
    PersonRectification,
    platform,
    retention,
)
from cases.people.matching import name_key
from cases.retention.sources import ERASED, anonymise_people
from shared.audit import record_access
from shared.auth import Principal
from shared.contracts.events import (
    EventPayload,
    LegalHoldPlaced,
    LegalHoldReleased,
    PersonErased,
    PersonRectified,
    ReferralConsentWithdrawn,
)
from shared.errors import Conflict, NotFound
from shared.events import CloudEvent
from shared.events.outbox import publish
from shared.retention.identifiers import identifier_hashes

SOURCE = "urn:earlyhelp:cases"
RECTIFIABLE = ("given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode", "address")


def _visible_family(family: Family | None, principal: Principal) -> Family:
    if family is None or not (principal.has_role("admin") or principal.in_hub(family.hub)):
        raise NotFound("No such family that you manage")
    return family


async def _announce(
    session: AsyncSession,
    principal: Principal,
    payload: EventPayload,
    *,
    action: str,
    record_type: str,
    record_id: uuid.UUID,
    purpose: str,
    details: dict[str, Any],
) -> None:
    """Tell the other services of the change (the record is the event's subject) and log it in the access log."""
    await publish(
        session, platform, source=SOURCE, type=payload.event_type, subject=str(record_id), data=payload.data()
    )
    await record_access(
        session,
        platform,
        actor=principal,
        action=action,
        record_type=record_type,
        record_ids=[record_id],
        purpose=purpose,
        details=details,
    )


async def place_hold(session: AsyncSession, principal: Principal, family_id: uuid.UUID, reason: str) -> dict[str, Any]:
    _visible_family(await session.get(Family, family_id), principal)
    holds = retention.legal_holds
    hold_id, now = uuid.uuid4(), datetime.now(UTC)
    await session.execute(
        holds.insert().values(id=hold_id, family_id=family_id, reason=reason, placed_by=principal.actor, placed_at=now)
    )
    payload = LegalHoldPlaced(hold_id=hold_id, family_id=family_id, placed_at=now)
    await _announce(
        session,
        principal,
        payload,
        action="legal_hold",
        record_type="family",
        record_id=family_id,
        purpose="legal hold placed",
        details={"hold_id": str(hold_id)},
    )
    return await _hold(session, hold_id)


async def release_hold(
    session: AsyncSession, principal: Principal, family_id: uuid.UUID, hold_id: uuid.UUID, reason: str
) -> dict[str, Any]:
    _visible_family(await session.get(Family, family_id), principal)
    holds = retention.legal_holds
    now = datetime.now(UTC)
    done = await session.execute(
        holds.update()
        .where(holds.c.id == hold_id, holds.c.family_id == family_id, holds.c.released_at.is_(None))
        .values(released_at=now, released_by=principal.actor, release_reason=reason)
        .returning(holds.c.id)
    )
    if done.first() is None:
        raise Conflict("No hold of that id is in force on this family")
    payload = LegalHoldReleased(hold_id=hold_id, family_id=family_id, released_at=now)
    details = {"hold_id": str(hold_id)}
    await _announce(
        session,
        principal,
        payload,
        action="legal_hold_release",
        record_type="family",
        record_id=family_id,
        purpose="legal hold released",
        details=details,
    )
    return await _hold(session, hold_id)


async def list_holds(session: AsyncSession, principal: Principal, family_id: uuid.UUID) -> list[dict[str, Any]]:
    _visible_family(await session.get(Family, family_id), principal)
    holds = retention.legal_holds
    rows = await session.execute(select(holds).where(holds.c.family_id == family_id).order_by(holds.c.placed_at))
    return [dict(r) for r in rows.mappings()]


async def _hold(session: AsyncSession, hold_id: uuid.UUID) -> dict[str, Any]:
    holds = retention.legal_holds
    return dict((await session.execute(select(holds).where(holds.c.id == hold_id))).mappings().one())


async def _person_with_hashes(
    session: AsyncSession, person_id: uuid.UUID, *, erased_too: bool
) -> tuple[Person, list[str]]:
    """The person a right is exercised on, and the hashes of their identifiers as they stand before the change
    (the other services find what they hold by these). An erased person can be erased again, not rectified."""
    person = await session.get(Person, person_id)
    if person is None or (not erased_too and person.given_name == ERASED):
        raise NotFound("No such person")
    return person, identifier_hashes(nhs_number=person.nhs_number, upn=person.upn)


async def erase_person(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, reason: str
) -> dict[str, Any]:
    """Anonymise the person in the index (the row stays, so that memberships and merges still resolve; the
    family's other members are untouched) and tell the other services to erase what they hold about them."""
    _, hashes = await _person_with_hashes(session, person_id, erased_too=True)
    holds = retention.legal_holds
    held = await session.scalar(
        select(holds.c.id)
        .join(FamilyMember, FamilyMember.family_id == holds.c.family_id)
        .where(FamilyMember.person_id == person_id, holds.c.released_at.is_(None))
        .limit(1)
    )
    if held is not None:  # Art. 17(3)(e): kept for legal claims while a family of theirs is on hold
        raise Conflict("A family of this person is under a legal hold; release it before erasing them")
    erasure = PersonErasure(id=uuid.uuid4(), person_id=person_id, reason=reason, erased_by=principal.actor)
    session.add(erasure)
    await session.flush()
    await anonymise_people(session, [person_id])
    now = datetime.now(UTC)
    await session.execute(
        retention.tombstones.insert().values(
            record_type="person",
            record_id=str(person_id),
            action="erase",
            rule="erasure on request (UK GDPR Art. 17)",
            due_on=now.date(),
            erased_by=principal.actor,
        )
    )
    payload = PersonErased(person_id=person_id, erasure_id=erasure.id, erased_at=now, identifier_hashes=hashes)
    details = {"erasure_id": str(erasure.id)}
    await _announce(
        session,
        principal,
        payload,
        action="erase",
        record_type="person",
        record_id=person_id,
        purpose="erasure on request",
        details=details,
    )
    return {"erasure_id": erasure.id, "person_id": person_id, "erased_at": now}


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def rectify_person(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, changes: dict[str, Any], reason: str
) -> dict[str, Any]:
    person, hashes = await _person_with_hashes(session, person_id, erased_too=False)
    before = {k: _json(getattr(person, k)) for k in changes}
    after = {k: _json(v) for k, v in changes.items()}
    values = dict(changes)
    if "given_name" in changes:
        values["given_key"] = name_key(changes["given_name"])
    if "family_name" in changes:
        values["family_key"] = name_key(changes["family_name"])
    await session.execute(update(Person).where(Person.id == person_id).values(**values))
    record = PersonRectification(
        id=uuid.uuid4(), person_id=person_id, before=before, after=after, reason=reason, rectified_by=principal.actor
    )
    session.add(record)
    await session.flush()
    now = datetime.now(UTC)
    payload = PersonRectified(
        person_id=person_id, rectification_id=record.id, changes=after, rectified_at=now, identifier_hashes=hashes
    )
    await _announce(
        session,
        principal,
        payload,
        action="rectify",
        record_type="person",
        record_id=person_id,
        purpose=reason,
        details={"fields": sorted(changes)},
    )
    return {"rectification_id": record.id, "person_id": person_id, "changed": sorted(changes), "rectified_at": now}


async def rectification_history(session: AsyncSession, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(PersonRectification)
        .where(PersonRectification.person_id == person_id)
        .order_by(PersonRectification.rectified_at)
    )
    return [
        {
            "id": r.id,
            "before": r.before,
            "after": r.after,
            "reason": r.reason,
            "rectified_by": r.rectified_by,
            "rectified_at": r.rectified_at,
        }
        for r in rows.scalars()
    ]


async def on_consent_withdrawn(session: AsyncSession, event: CloudEvent) -> None:
    """Flag the case the referral opened or joined (or will: the flag is kept by referral id)."""
    data = ReferralConsentWithdrawn.model_validate(event.data)
    case_id = data.case_id or await session.scalar(
        select(CaseReferral.case_id).where(CaseReferral.referral_id == data.referral_id)
    )
    existing = await session.get(ConsentWithdrawal, data.referral_id)
    if existing is None:
        session.add(
            ConsentWithdrawal(
                referral_id=data.referral_id, case_id=case_id, family_id=data.family_id, withdrawn_at=data.withdrawn_at
            )
        )
    await record_access(
        session,
        platform,
        actor=f"event:{event.source}",
        action="flag",
        record_type="case",
        record_ids=[case_id] if case_id else [],
        purpose="consent withdrawn",
    )


async def consent_withdrawals(session: AsyncSession, case_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ConsentWithdrawal).where(ConsentWithdrawal.case_id == case_id).order_by(ConsentWithdrawal.withdrawn_at)
    )
    return [{"referral_id": r.referral_id, "withdrawn_at": r.withdrawn_at} for r in rows.scalars()]
