"""The body of the event this service consumes: `referral.accepted` from the referrals service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from cases.schemas import MemberRole, Name
from shared.identifiers import UPN, NHSNumber, Postcode


class ReferralPerson(BaseModel):
    ref: str | None = None
    role: MemberRole
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None
    address: str | None = None
    matched_person_id: uuid.UUID | None = None
    identity: Literal["matched", "confirmed", "new"] | None = Field(
        default=None,
        description="How the identity was settled: linked automatically, confirmed at triage, or a new person "
        "declared at triage (null: no candidate was found)",
    )


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
