"""The body of the event this service consumes: `referral.accepted` from the referrals service.

Its people are the contract's `ReferralPerson` (`shared.contracts`); the envelope keeps what cases reads of it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.contracts import ReferralPerson
from shared.identifiers import Postcode

__all__ = ["ReferralAccepted", "ReferralPerson"]


class ReferralAccepted(BaseModel):
    referral_id: uuid.UUID
    kind: str
    hub: str
    received_at: datetime | None = Field(
        default=None, description="When the referral was received: the earliest an assessment of its case may be dated"
    )
    decided_by: str | None = None
    reason: str | None = None
    postcode: Postcode | None = None
    address: str | None = None
    expected_delivery_date: date | None = None
    people: list[ReferralPerson] = Field(min_length=1)
