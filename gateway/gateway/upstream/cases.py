"""The cases service's answers, as the gateway reads them (`cases.*.schemas`, `GET /v1/cases` and friends)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from gateway.upstream import UpstreamModel


class PersonRead(UpstreamModel):
    id: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None
    upn: str | None
    postcode: str | None


class MemberRead(UpstreamModel):
    person: PersonRead | None
    role: str
    expected_on: date | None
    joined_on: date
    left_on: date | None


class FamilyRead(UpstreamModel):
    id: str
    hub: str
    postcode: str | None
    members: list[MemberRead]


class AssessmentSummary(UpstreamModel):
    framework: str
    needs: list[str]
    eligible: bool
    eligibility_reasons: list[str]
    assessed_on: date


class CaseRead(UpstreamModel):
    id: str
    family_id: str
    hub: str
    status: str
    version: int
    opened_at: datetime
    lead_worker_id: str | None
    assessment: AssessmentSummary | None
    closed_on: date | None
    outcome: str | None


class WorkerRead(UpstreamModel):
    id: str
    name: str
    agency: str
    hub: str
    role: str
    caseload_cap: int
    current_caseload: int | None = None
    capacity: int | None = None


class CaseloadItem(UpstreamModel):
    case_id: str


class CaseloadRead(UpstreamModel):
    cases: list[CaseloadItem]


class LeadWorkerAssignmentRead(UpstreamModel):
    worker_id: str
    reason: str
    assigned_at: datetime
    ended_at: datetime | None


class Goal(UpstreamModel):
    """A goal of a plan; the cases service answers plans with free-form goals, written as `Goal`."""

    need: str
    description: str


class Action(UpstreamModel):
    """An action of a plan, beside the goals and linked to one by need (written as `Action`)."""

    need: str
    description: str
    owner_worker_id: str | None = None
    owner_agency: str | None = None
    due_on: date
    status: str = "not_started"


class TeamMember(UpstreamModel):
    """A member of the team around the family (written as `TeamMember`)."""

    worker_id: str
    role: str


class ReviewRead(UpstreamModel):
    reviewed_on: date
    summary: str


class PlanRead(UpstreamModel):
    id: str
    case_id: str
    version: int
    goals: list[Goal]
    actions: list[Action]
    team: list[TeamMember]
    next_review_due: date
    reviews: list[ReviewRead] = Field(default_factory=list)


class ContactRead(UpstreamModel):
    id: str
    case_id: str
    kind: str
    occurred_at: datetime
    note: str
    sensitive: bool


class FamilyMergeRead(UpstreamModel):
    """A family merge and what it moved (`cases.merges.schemas.FamilyMergeRead`)."""

    id: str
    survivor_id: str
    merged_id: str
    reason: str
    merged_by: str
    merged_at: datetime
    moved: dict[str, Any]
    undone_at: datetime | None
    undone_by: str | None
    undo_reason: str | None
