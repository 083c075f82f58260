"""Consent withdrawal (UK GDPR Art. 7(3)): the family withdraws its consent to a referral. It is recorded (who in
the family, how, who recorded it), audited and announced to cases (`referral.consent_withdrawn`, which flags the
case), and honoured: the referring partner gets no further status webhooks about the referral
(`consent_withdrawn` is asked by the triage service before each `referral.status_changed`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.models import ConsentWithdrawal, Referral, platform
from shared.audit import record_access
from shared.auth import Principal, require_roles
from shared.contracts.events import ReferralConsentWithdrawn
from shared.db import SessionDep
from shared.errors import Conflict, NotFound
from shared.events.outbox import publish
from shared.fields import Actor, ShortText

router = APIRouter(tags=["data protection"])
Recorder = Annotated[Principal, Depends(require_roles("partner_system", "hub_manager", "admin"))]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ConsentWithdrawalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    withdrawn_by: Text = Field(description="Who in the family withdrew consent, e.g. 'mother'")
    method: Text = Field(description="How: verbal, written, email, …")
    withdrawn_at: datetime | None = Field(default=None, description="When; now if omitted")


class ConsentWithdrawalRead(BaseModel):
    referral_id: uuid.UUID
    withdrawn_at: datetime
    withdrawn_by: ShortText
    method: ShortText
    recorded_by: Actor


def _may_record(principal: Principal, referral: Referral) -> bool:
    if principal.has_role("admin"):
        return True
    if principal.has_role("partner_system") and principal.agency == referral.agency:
        return True
    return principal.has_role("hub_manager") and principal.in_hub(referral.hub)


async def consent_withdrawn(session: AsyncSession, referral_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(ConsentWithdrawal.referral_id == referral_id))))


@router.post(
    "/v1/referrals/{referral_id}/consent-withdrawal",
    status_code=201,
    response_model=ConsentWithdrawalRead,
    summary="Record that the family withdrew its consent",
)
async def withdraw_consent(
    referral_id: uuid.UUID, body: ConsentWithdrawalCreate, session: SessionDep, caller: Recorder
) -> Any:
    referral = await session.get(Referral, referral_id, with_for_update=True)
    if referral is None or not _may_record(caller, referral):
        raise NotFound(f"No referral {referral_id} that you can act on")
    if await consent_withdrawn(session, referral_id):
        raise Conflict("Consent to this referral was already withdrawn")
    at = body.withdrawn_at or datetime.now(UTC)
    record = ConsentWithdrawal(
        referral_id=referral_id,
        withdrawn_at=at,
        withdrawn_by=body.withdrawn_by,
        method=body.method,
        recorded_by=caller.actor,
    )
    session.add(record)
    await session.flush()
    payload = ReferralConsentWithdrawn(
        referral_id=referral_id, family_id=referral.family_id, case_id=referral.case_id, withdrawn_at=at
    )
    await publish(
        session,
        platform,
        source="urn:earlyhelp:referrals",
        type=payload.event_type,
        subject=str(referral_id),
        data=payload.data(),
    )
    await record_access(
        session,
        platform,
        actor=caller,
        action="consent_withdrawn",
        record_type="referral",
        record_ids=[referral_id],
        purpose="consent withdrawn",
    )
    return ConsentWithdrawalRead(
        referral_id=referral_id,
        withdrawn_at=at,
        withdrawn_by=record.withdrawn_by,
        method=record.method,
        recorded_by=record.recorded_by,
    )
