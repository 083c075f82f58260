"""Events this service consumes: `case.opened` and `case.joined` from cases record the family and case."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from referrals.triage.repository import ReferralRepository
from referrals.triage.service import TriageService
from shared.errors import BadRequest
from shared.events import CloudEvent, EventHandler


async def on_case_opened_or_joined(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    if not data.get("referral_id"):
        return  # a case opened without a referral (e.g. a step-down) concerns no referral of ours
    try:
        referral_id = uuid.UUID(str(data["referral_id"]))
        family_id = uuid.UUID(str(data["family_id"]))
        case_id = uuid.UUID(str(data["case_id"]))
    except (KeyError, ValueError) as exc:
        raise BadRequest(f"{event.type} needs referral_id, family_id and case_id as UUIDs") from exc
    await TriageService(ReferralRepository(session)).link_case(
        referral_id,
        family_id=family_id,
        case_id=case_id,
        actor=f"event:{event.source}",
    )


EVENT_HANDLERS: dict[str, EventHandler] = {
    "case.opened": on_case_opened_or_joined,
    "case.joined": on_case_opened_or_joined,
}
