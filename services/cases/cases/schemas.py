"""Request and response bodies of the cases service (XCreate / XUpdate / XRead)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.identifiers import UPN, NHSNumber, Postcode

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MemberRole = Literal["parent_carer", "child", "young_person", "other_adult", "unborn"]
CaseStatus = Literal["open", "assessment", "plan", "review", "closed"]
CaseOutcome = Literal["needs_met", "stepped_up", "stepped_down", "moved_away", "disengaged", "other"]
ActionStatus = Literal["not_started", "in_progress", "done", "cancelled"]
ContactKind = Literal["visit", "call", "meeting", "message", "other"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# --- people -----------------------------------------------------------------------------------------------


class PersonRead(BaseModel):
    """A person in the index (the contract's `Person`)."""

    id: uuid.UUID
    given_name: str
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None
    upn: str | None
    postcode: str | None


class MatchRequest(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: date
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None


class MatchCandidate(BaseModel):
    person: PersonRead
    score: float = Field(ge=0, le=1)
    reasons: list[str]


class MatchResult(BaseModel):
    exact: list[PersonRead]
    candidates: list[MatchCandidate]


class PersonCreate(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None


class MergeRequest(Strict):
    merge_person_id: uuid.UUID = Field(description="The duplicate, merged into the person in the path")
    reason: Text


class UnmergeRequest(Strict):
    reason: Text


class MergeRead(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    reason: str
    merged_by: str
    merged_at: datetime
    moved: dict[str, Any]
    undone_at: datetime | None
    undone_by: str | None
    undo_reason: str | None


# --- hubs, teams and workers -----------------------------------------------------------------------------


class HubPut(Strict):
    name: Name


class HubRead(BaseModel):
    code: str
    name: str


class WorkerCreate(Strict):
    name: Name
    subject: Name | None = Field(default=None, description="The `sub` claim of the worker's token")
    agency: Name
    agency_type: Name
    hub: Name
    team_id: uuid.UUID | None = None
    role: Literal["practitioner", "hub_manager", "partner_practitioner"] = "practitioner"
    caseload_cap: int = Field(default=15, ge=0, le=200)


class WorkerRead(BaseModel):
    id: uuid.UUID
    name: str
    subject: str | None
    agency: str
    agency_type: str
    hub: str
    team_id: uuid.UUID | None
    role: str
    caseload_cap: int
    active: bool


class CaseloadItem(BaseModel):
    case_id: uuid.UUID
    family_id: uuid.UUID
    hub: str
    status: str
    assigned_at: datetime


class CaseloadRead(BaseModel):
    worker_id: uuid.UUID
    caseload_cap: int
    current: int
    at_cap: bool
    cases: list[CaseloadItem]


# --- families ---------------------------------------------------------------------------------------------


class MemberCreate(Strict):
    role: MemberRole
    person_id: uuid.UUID | None = None
    person: PersonCreate | None = None
    expected_on: date | None = None
    joined_on: date | None = None

    @model_validator(mode="after")
    def _person_or_unborn(self) -> MemberCreate:
        if self.role == "unborn":
            if self.expected_on is None:
                raise ValueError("an unborn member needs expected_on")
            if self.person_id or self.person:
                raise ValueError("an unborn member has no person record yet")
        elif (self.person_id is None) == (self.person is None):
            raise ValueError("give exactly one of person_id or person")
        return self


class FamilyCreate(Strict):
    name: Name
    hub: Name
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    postcode: Postcode | None = None
    members: list[MemberCreate] = Field(default_factory=list, max_length=30)


class MemberLeave(Strict):
    left_on: date | None = None
    reason: Text


class RelationshipCreate(Strict):
    person_id: uuid.UUID
    related_person_id: uuid.UUID
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]


class MemberRead(BaseModel):
    id: uuid.UUID
    person: PersonRead | None
    role: str
    expected_on: date | None
    joined_on: date
    left_on: date | None


class RelationshipRead(BaseModel):
    person_id: uuid.UUID
    related_person_id: uuid.UUID
    kind: str


class FamilyRead(BaseModel):
    id: uuid.UUID
    name: str
    hub: str
    address: str | None
    postcode: str | None
    members: list[MemberRead]
    relationships: list[RelationshipRead] = Field(default_factory=list)


# --- cases ------------------------------------------------------------------------------------------------


class StepDown(Strict):
    agency: Name = Field(description="Who stepped the family down, e.g. children's social care")
    reason: Text


class CaseCreate(Strict):
    family_id: uuid.UUID
    reason: Text
    hub: Name | None = Field(default=None, description="Defaults to the family's hub")
    stepped_down_from: StepDown | None = None


class AssessmentSummary(BaseModel):
    id: uuid.UUID
    framework: str
    framework_version: str
    needs: list[str]
    eligible: bool
    eligibility_reasons: list[str]
    assessed_on: date


class CaseRead(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    hub: str
    status: str
    version: int
    reason: str | None
    opened_at: datetime
    opened_by: str
    referral_ids: list[uuid.UUID]
    lead_worker_id: uuid.UUID | None
    assessment: AssessmentSummary | None
    closed_on: date | None
    outcome: str | None
    closure_reason: str | None


class LeadWorkerAssign(Strict):
    worker_id: uuid.UUID
    reason: Text
    override_cap: bool = Field(default=False, description="Hub managers only: assign beyond the caseload cap")


class LeadWorkerAssignmentRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    worker_id: uuid.UUID
    reason: str
    assigned_by: str
    assigned_at: datetime
    cap_overridden: bool
    ended_at: datetime | None
    end_reason: str | None


class NeedAssessed(Strict):
    code: Name
    descriptors: list[Text] = Field(default_factory=list, max_length=30)
    evidence: Text


class AssessmentCreate(Strict):
    needs: list[NeedAssessed] = Field(max_length=30)
    strengths: Text | None = None
    family_views: Text | None = None
    child_voice: Text | None = None
    assessed_on: date | None = None


class AssessmentRead(AssessmentSummary):
    case_id: uuid.UUID
    needs_detail: list[dict[str, Any]]
    strengths: str | None
    family_views: str | None
    child_voice: str | None
    assessed_by: str


class Goal(Strict):
    need: Name
    description: Text
    target_date: date | None = None


class Action(Strict):
    need: Name
    description: Text
    owner_worker_id: uuid.UUID | None = None
    owner_agency: Name | None = None
    due_on: date
    status: ActionStatus = "not_started"

    @model_validator(mode="after")
    def _has_owner(self) -> Action:
        if self.owner_worker_id is None and self.owner_agency is None:
            raise ValueError("an action needs an owner: owner_worker_id or owner_agency")
        return self


class TeamMember(Strict):
    worker_id: uuid.UUID
    role: Name


class PlanUpdate(Strict):
    goals: list[Goal] = Field(min_length=1, max_length=50)
    actions: list[Action] = Field(default_factory=list, max_length=200)
    team: list[TeamMember] = Field(default_factory=list, max_length=50)
    review_dates: list[date] = Field(default_factory=list, max_length=20)
    next_review_due: date | None = None
    change_summary: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ReviewCreate(Strict):
    reviewed_on: date | None = None
    summary: Text
    progress: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    next_review_due: date | None = None


class ReviewRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    plan_version: int
    reviewed_on: date
    summary: str
    progress: list[dict[str, Any]]
    next_review_due: date | None
    recorded_by: str


class PlanRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    version: int
    active: bool
    goals: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    team: list[dict[str, Any]]
    review_dates: list[str]
    next_review_due: date
    change_summary: str | None
    created_by: str
    created_at: datetime
    reviews: list[ReviewRead] = Field(default_factory=list)


class ContactCreate(Strict):
    kind: ContactKind
    occurred_at: datetime
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    sensitive: bool = False


class ContactRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    occurred_at: datetime
    note: str
    sensitive: bool
    recorded_by: str


class StepUp(Strict):
    agency: Name
    reason: Text


class CaseClose(Strict):
    outcome: CaseOutcome
    closed_on: date | None = None
    reason: Text
    step: StepUp | None = Field(default=None, description="Required when the outcome is stepped_up or stepped_down")

    @model_validator(mode="after")
    def _step_recorded(self) -> CaseClose:
        if self.outcome in ("stepped_up", "stepped_down") and self.step is None:
            raise ValueError("a step up or step down needs `step` (the receiving agency and the reason)")
        return self


# --- events consumed --------------------------------------------------------------------------------------


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


class ReferralAccepted(BaseModel):
    referral_id: uuid.UUID
    kind: str
    hub: str
    decided_by: str | None = None
    reason: str | None = None
    postcode: Postcode | None = None
    address: str | None = None
    expected_delivery_date: date | None = None
    people: list[ReferralPerson] = Field(min_length=1)
