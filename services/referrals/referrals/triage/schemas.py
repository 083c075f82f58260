"""Bodies of triage: the referral as read (`ReferralRead`, built by `to_read`), decisions, withdrawal, consent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from referrals.access import sees_matches
from referrals.fields import LongText, Strict, aware_not_future
from referrals.fields import ShortText as PlainShortText
from referrals.models import Referral
from shared.auth import Principal
from shared.deprecation import AcceptsOldNames, renamed
from shared.fields import FEW, MANY, PAGE_ITEMS, Actor, Address, Code, Cursor, ShortText
from shared.pagination import PageLinks

DecisionOutcome = Literal["accepted", "signposted", "no_further_action", "stepped_up"]
Status = Literal["received", "screening", "accepted", "signposted", "no_further_action", "stepped_up", "withdrawn"]
Kind = Literal["maternity", "school", "intelligence", "partner", "operation_encompass"]
ConsentMethod = Literal["verbal", "written", "electronic"]


class Consent(Strict):
    """The family's consent to early help: who gave it, when and how. Required details when `given`."""

    given: bool
    given_by: PlainShortText | None = None
    recorded_at: Annotated[datetime, AfterValidator(aware_not_future)] | None = None
    method: ConsentMethod | None = None

    @model_validator(mode="after")
    def _details_when_given(self) -> Consent:
        if self.given and (self.given_by is None or self.recorded_at is None or self.method is None):
            raise ValueError("consent that is given needs given_by, recorded_at and method")
        return self


class MatchRead(BaseModel):
    status: Code = Field(
        description="pending, matched (linked automatically), candidates (in review or a conflict: triage confirms "
        "who it is), confirmed (by triage), new_person (declared by triage) or no_match"
    )
    matched_person_id: uuid.UUID | None
    candidates: list[dict[str, Any]] = Field(
        max_length=FEW,
        description="Ranked candidates, each with its match probability (`score`), `band` (link, review or "
        "conflict), `conflict` reason and per-field match weights (`fields`)",
    )
    confirmed_by: Actor | None = None
    confirmed_at: datetime | None = None
    reason: LongText | None = Field(default=None, description="Why triage declared a new person (or confirmed one)")


class PersonRead(BaseModel):
    ref: Code
    role: Code
    given_name: ShortText
    family_name: ShortText
    date_of_birth: date
    nhs_number: Code | None
    upn: Code | None
    postcode: Code | None
    address: Address | None
    match: MatchRead | None = Field(
        description="Matches against the cases person index: shown to hub managers, admins and services only"
    )


class DecisionRead(BaseModel):
    """A decision as read: `decision` as the decision body names it; `outcome`, its old name, keeps the same value
    for partner systems written before and is deprecated (docs/contracts.md, "Deprecated names")."""

    decision: DecisionOutcome = Field(description="What was decided")
    outcome: DecisionOutcome = Field(
        deprecated="The same value as `decision`; `outcome` goes in the next release.",
        description="Deprecated: the same value as `decision`, under its old name",
    )
    reason: LongText
    decided_by: Actor
    decided_at: datetime


class StatusChangeRead(BaseModel):
    from_status: Code | None
    to_status: Code
    changed_at: datetime
    changed_by: Actor
    reason: LongText | None


class ReferralRead(BaseModel):
    id: uuid.UUID
    kind: Kind
    status: Status
    agency: Code
    agency_type: Code | None
    external_reference: ShortText
    hub: Code
    hub_defaulted: bool = Field(description="True when the postcode was not covered and the default hub took it")
    postcode: Code | None
    address: Address | None
    safeguarding_concern: bool = Field(description="Flagged for immediate step-up; sorted first in the queue")
    needs: list[Code] = Field(max_length=FEW)
    reason: LongText
    referrer: dict[str, Any]
    consent: dict[str, Any]
    lawful_basis: ShortText | None
    details: dict[str, Any] = Field(description="The fields particular to the referral's kind")
    expected_delivery_date: date | None
    received_at: datetime
    decision_due_at: datetime
    breached: bool
    decision: DecisionRead | None
    withdrawn_at: datetime | None
    matching: Code = Field(description="pending until every person was matched against the cases person index")
    family_id: uuid.UUID | None
    case_id: uuid.UUID | None
    people: list[PersonRead] = Field(max_length=FEW)
    history: list[StatusChangeRead] = Field(max_length=MANY)


class ReferralPage(PageLinks):
    items: list[ReferralRead] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None


class DecisionCreate(Strict, AcceptsOldNames):
    """A hub manager's decision. `decision` is the word every decision body uses (claims, identified families);
    `outcome`, its old name here, is accepted as a deprecated alias for one release."""

    decision: DecisionOutcome = Field(
        validation_alias=renamed("decision", "outcome"),
        description="What is decided (`outcome`, the old name, is a deprecated alias accepted until the next release)",
    )
    reason: LongText


class ReviewItem(BaseModel):
    """A referred person awaiting triage's answer to who they are, with the ranked, explained candidates."""

    referral_id: uuid.UUID
    ref: Code
    role: Code
    hub: Code | None
    received_at: datetime
    given_name: ShortText
    family_name: ShortText
    date_of_birth: date
    postcode: Code | None
    nhs_number: Code | None
    upn: Code | None
    conflict: bool = Field(description="An identifier agrees while the date of birth and name disagree")
    candidates: list[dict[str, Any]] = Field(max_length=FEW)


class ReviewPage(PageLinks):
    items: list[ReviewItem] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None


class IdentityConfirm(Strict):
    """Triage's answer to who a referred person is: one of their candidates, or (null) a new person."""

    person_id: uuid.UUID | None = Field(description="A candidate's person id, or null for a new person")
    reason: LongText | None = Field(default=None, description="Required when declaring a new person")


class WithdrawalCreate(Strict):
    reason: LongText | None = None


class ScreeningCreate(Strict):
    note: LongText | None = None


# --- the read model of a referral ------------------------------------------------------------------------


def is_breached(referral: Referral, now: datetime) -> bool:
    settled = referral.decided_at or referral.withdrawn_at or now
    return referral.decision_due_at < settled


def new_referral_read(
    values: dict[str, Any],
    people: list[dict[str, Any]],
    change: dict[str, Any],
    now: datetime,
    *,
    principal: Principal | None = None,
) -> ReferralRead:
    """`to_read` of a referral being stored, from the row values intake writes (no ORM objects on intake's hot
    path): nothing is decided, withdrawn or linked yet, and the history is its first status."""
    with_matches = sees_matches(principal)
    names = ("id", "kind", "status", "agency", "agency_type", "external_reference", "hub", "hub_defaulted",
             "postcode", "address", "safeguarding_concern", "reason", "referrer", "consent", "lawful_basis",
             "details", "expected_delivery_date", "received_at", "decision_due_at", "matching")  # fmt: skip
    return ReferralRead(
        **{name: values[name] for name in names},
        needs=list(values["needs"]),
        breached=values["decision_due_at"] < now,
        decision=None,
        withdrawn_at=None,
        family_id=None,
        case_id=None,
        people=[
            PersonRead(
                **{name: p[name] for name in PERSON_FIELDS},
                match=MatchRead(
                    status=p["match_status"],
                    matched_person_id=p["matched_person_id"],
                    candidates=p["match_candidates"],
                )
                if with_matches
                else None,
            )
            for p in people
        ],
        history=[StatusChangeRead(**{name: change[name] for name in STATUS_CHANGE_FIELDS})],
    )


PERSON_FIELDS = ("ref", "role", "given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode",
                 "address")  # fmt: skip
STATUS_CHANGE_FIELDS = ("from_status", "to_status", "changed_at", "changed_by", "reason")


def to_read(referral: Referral, now: datetime, *, principal: Principal | None = None) -> ReferralRead:
    with_matches = sees_matches(principal)
    decision = None
    if referral.decision_outcome is not None:
        assert referral.decided_at is not None
        assert referral.decided_by is not None
        decision = DecisionRead(
            decision=referral.decision_outcome,
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
                    confirmed_by=p.identity_confirmed_by,
                    confirmed_at=p.identity_confirmed_at,
                    reason=p.identity_reason,
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
