"""The referrals service's answers, as the gateway reads them (`referrals.triage.schemas`)."""

from __future__ import annotations

from datetime import date, datetime

from gateway.upstream import UpstreamModel


class CandidatePerson(UpstreamModel):
    id: str


class FieldWeight(UpstreamModel):
    """How one field of a candidate compared, and the match weight it added (the cases service's explanation)."""

    field: str
    level: str
    weight: float
    explanation: str


class Candidate(UpstreamModel):
    """A scored person-index candidate (the referrals service stores these as free-form objects; an exact
    identifier match carries no band or field weights)."""

    person: CandidatePerson
    score: float
    reasons: list[str]
    band: str | None = None
    conflict: str | None = None
    match_weight: float | None = None
    fields: list[FieldWeight] = []


class MatchRead(UpstreamModel):
    status: str
    matched_person_id: str | None
    candidates: list[Candidate]
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    reason: str | None = None


class PersonRead(UpstreamModel):
    ref: str
    match: MatchRead | None


class ReviewItem(UpstreamModel):
    """A referred person awaiting triage's answer to who they are (`GET /v1/identity-reviews`)."""

    referral_id: str
    ref: str
    role: str
    hub: str | None
    received_at: datetime
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str | None
    nhs_number: str | None
    upn: str | None
    conflict: bool
    candidates: list[Candidate]


class DecisionRead(UpstreamModel):
    decision: str
    reason: str
    decided_by: str
    decided_at: datetime


class ReferralRead(UpstreamModel):
    id: str
    kind: str
    status: str
    agency: str
    external_reference: str
    hub: str
    safeguarding_concern: bool
    needs: list[str]
    received_at: datetime
    decision_due_at: datetime
    breached: bool
    decision: DecisionRead | None
    matching: str
    family_id: str | None
    case_id: str | None
    people: list[PersonRead]


class DecisionTiming(UpstreamModel):
    decision: str
    decided_at: datetime


class ReferralTiming(UpstreamModel):
    """What the cohort report measures of a referral (`gateway.reports`): no name, no identifier."""

    hub: str
    status: str
    received_at: datetime
    decision_due_at: datetime
    breached: bool
    decision: DecisionTiming | None
