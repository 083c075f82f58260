"""Bodies of triage: the referral as read (`ReferralRead`, built by `to_read`), decisions, withdrawal, consent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from referrals.access import sees_matches
from referrals.fields import LongText, ShortText, Strict, aware_not_future
from referrals.models import Referral
from shared.auth import Principal

DecisionOutcome = Literal["accepted", "signposted", "no_further_action", "stepped_up"]
Status = Literal["received", "screening", "accepted", "signposted", "no_further_action", "stepped_up", "withdrawn"]
Kind = Literal["maternity", "school", "intelligence"]
ConsentMethod = Literal["verbal", "written", "electronic"]


class Consent(Strict):
    """The family's consent to early help: who gave it, when and how. Required details when `given`."""

    given: bool
    given_by: ShortText | None = None
    recorded_at: Annotated[datetime, AfterValidator(aware_not_future)] | None = None
    method: ConsentMethod | None = None

    @model_validator(mode="after")
    def _details_when_given(self) -> Consent:
        if self.given and (self.given_by is None or self.recorded_at is None or self.method is None):
            raise ValueError("consent that is given needs given_by, recorded_at and method")
        return self


class MatchRead(BaseModel):
    status: str = Field(description="pending, matched, candidates or no_match")
    matched_person_id: uuid.UUID | None
    candidates: list[dict[str, Any]]


class PersonRead(BaseModel):
    ref: str
    role: str
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str | None
    upn: str | None
    postcode: str | None
    address: str | None
    match: MatchRead | None = Field(
        description="Matches against the cases person index: shown to hub managers, admins and services only"
    )


class DecisionRead(BaseModel):
    outcome: DecisionOutcome
    reason: str
    decided_by: str
    decided_at: datetime


class StatusChangeRead(BaseModel):
    from_status: str | None
    to_status: str
    changed_at: datetime
    changed_by: str
    reason: str | None


class ReferralRead(BaseModel):
    id: uuid.UUID
    kind: Kind
    status: Status
    agency: str
    agency_type: str | None
    external_reference: str
    hub: str
    hub_defaulted: bool = Field(description="True when the postcode was not covered and the default hub took it")
    postcode: str | None
    address: str | None
    safeguarding_concern: bool = Field(description="Flagged for immediate step-up; sorted first in the queue")
    needs: list[str]
    reason: str
    referrer: dict[str, Any]
    consent: dict[str, Any]
    lawful_basis: str | None
    details: dict[str, Any] = Field(description="The fields particular to the referral's kind")
    expected_delivery_date: date | None
    received_at: datetime
    decision_due_at: datetime
    breached: bool
    decision: DecisionRead | None
    withdrawn_at: datetime | None
    matching: str = Field(description="pending until every person was matched against the cases person index")
    family_id: uuid.UUID | None
    case_id: uuid.UUID | None
    people: list[PersonRead]
    history: list[StatusChangeRead]


class ReferralPage(BaseModel):
    items: list[ReferralRead]
    next_cursor: str | None


class DecisionCreate(Strict):
    outcome: DecisionOutcome
    reason: LongText


class WithdrawalCreate(Strict):
    reason: LongText | None = None


class ScreeningCreate(Strict):
    note: LongText | None = None


# --- the read model of a referral ------------------------------------------------------------------------


def is_breached(referral: Referral, now: datetime) -> bool:
    settled = referral.decided_at or referral.withdrawn_at or now
    return referral.decision_due_at < settled


def to_read(referral: Referral, now: datetime, *, principal: Principal | None = None) -> ReferralRead:
    with_matches = sees_matches(principal)
    decision = None
    if referral.decision_outcome is not None:
        assert referral.decided_at is not None
        assert referral.decided_by is not None
        decision = DecisionRead(
            outcome=referral.decision_outcome,
            reason=referral.decision_reason or "",
            decided_by=referral.decided_by,
            decided_at=referral.decided_at,
        )
    return ReferralRead(
        id=referral.id,
        kind=referral.kind,
        status=referral.status,
        agency=referral.agency,
        agency_type=referral.agency_type,
        external_reference=referral.external_reference,
        hub=referral.hub,
        hub_defaulted=referral.hub_defaulted,
        postcode=referral.postcode,
        address=referral.address,
        safeguarding_concern=referral.safeguarding_concern,
        needs=list(referral.needs),
        reason=referral.reason,
        referrer=referral.referrer,
        consent=referral.consent,
        lawful_basis=referral.lawful_basis,
        details=referral.details,
        expected_delivery_date=referral.expected_delivery_date,
        received_at=referral.received_at,
        decision_due_at=referral.decision_due_at,
        breached=is_breached(referral, now),
        decision=decision,
        withdrawn_at=referral.withdrawn_at,
        matching=referral.matching,
        family_id=referral.family_id,
        case_id=referral.case_id,
        people=[
            PersonRead(
                ref=p.ref,
                role=p.role,
                given_name=p.given_name,
                family_name=p.family_name,
                date_of_birth=p.date_of_birth,
                nhs_number=p.nhs_number,
                upn=p.upn,
                postcode=p.postcode,
                address=p.address,
                match=MatchRead(
                    status=p.match_status,
                    matched_person_id=p.matched_person_id,
                    candidates=p.match_candidates,
                )
                if with_matches
                else None,
            )
            for p in referral.people
        ],
        history=[
            StatusChangeRead(
                from_status=c.from_status,
                to_status=c.to_status,
                changed_at=c.changed_at,
                changed_by=c.changed_by,
                reason=c.reason,
            )
            for c in referral.history
        ],
    )
