"""The referrals service's answers, as the gateway reads them (`referrals.triage.schemas`)."""

from __future__ import annotations

from datetime import datetime

from gateway.upstream import UpstreamModel


class CandidatePerson(UpstreamModel):
    id: str


class Candidate(UpstreamModel):
    """A scored person-index candidate (the referrals service stores these as free-form objects)."""

    person: CandidatePerson
    score: float
    reasons: list[str]


class MatchRead(UpstreamModel):
    status: str
    matched_person_id: str | None
    candidates: list[Candidate]


class PersonRead(UpstreamModel):
    ref: str
    match: MatchRead | None


class DecisionRead(UpstreamModel):
    outcome: str
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
    outcome: str
    decided_at: datetime


class ReferralTiming(UpstreamModel):
    """What the cohort report measures of a referral (`gateway.reports`): no name, no identifier."""

    hub: str
    status: str
    received_at: datetime
    decision_due_at: datetime
    breached: bool
    decision: DecisionTiming | None
