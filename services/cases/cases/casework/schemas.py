"""Request and response bodies of casework: cases, lead workers, assessments, plans, reviews, contacts, closure."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from cases.schemas import Name, Strict, Text
from shared.deprecation import AcceptsOldNames
from shared.fields import FEW, MANY, Actor, Code, Count, LongText, Note, ShortText

CaseOutcome = Literal["needs_met", "stepped_up", "stepped_down", "moved_away", "disengaged", "other"]
ActionStatus = Literal["not_started", "in_progress", "done", "cancelled"]
ContactKind = Literal["visit", "call", "meeting", "message", "other"]


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
    framework: Code
    framework_version: Code
    needs: list[Code] = Field(max_length=FEW)
    eligible: bool
    eligibility_reasons: list[LongText] = Field(max_length=FEW)
    assessed_on: date


class CaseStepRead(BaseModel):
    """A step up (to children's social care) or down, recorded when the case opened or closed."""

    direction: Literal["up", "down"]
    on_date: date
    agency: ShortText | None = Field(
        description="At closure, the service that received the family; at opening (a step down into early help), "
        "the service that stepped the family down"
    )
    reason: LongText
    recorded_by: Actor


class CaseRead(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    hub: ShortText
    status: Code
    version: Count
    reason: LongText | None
    opened_at: datetime
    opened_by: Actor
    referral_ids: list[uuid.UUID] = Field(max_length=MANY)
    lead_worker_id: uuid.UUID | None
    assessment: AssessmentSummary | None
    closed_on: date | None
    outcome: Code | None
    closure_reason: LongText | None
    steps: list[CaseStepRead] = Field(
        max_length=MANY, default_factory=list, description="Steps up and down, oldest first"
    )


class LeadWorkerAssign(Strict):
    worker_id: uuid.UUID
    reason: Text
    override_cap: bool = Field(default=False, description="Hub managers only: assign beyond the caseload cap")


class LeadWorkerAssignmentRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    worker_id: uuid.UUID
    reason: LongText
    assigned_by: Actor
    assigned_at: datetime
    cap_overridden: bool
    ended_at: datetime | None
    end_reason: LongText | None


class NeedAssessed(Strict, AcceptsOldNames):
    old_forms = ("descriptor label",)  # `descriptors`: a descriptor's exact label (`planning.assessed_needs`)

    code: Name
    descriptors: list[Text] = Field(
        default_factory=list,
        max_length=30,
        description="Codes of the need's descriptors seen (e.g. `persistent_absence`; `GET outcomes "
        "/v1/frameworks/active` lists them with their labels). The exact label is still accepted, for clients written "
        "before codes; either way the code is stored.",
    )
    evidence: Text


class AssessmentCreate(Strict):
    needs: list[NeedAssessed] = Field(max_length=30)
    strengths: Text | None = None
    family_views: Text | None = None
    child_voice: Text | None = None
    assessed_on: date | None = Field(
        default=None,
        description="Today when omitted; not in the future, nor before the case began (the earliest of its "
        "referrals' received dates and its opening date), unless a hub manager gives `backdate_reason`",
    )
    backdate_reason: Text | None = Field(
        default=None, description="Hub managers only: why the assessment is dated before the case began (audited)"
    )


class AssessmentRead(AssessmentSummary):
    case_id: uuid.UUID
    needs_detail: list[dict[str, Any]] = Field(max_length=FEW)
    strengths: Note | None
    family_views: Note | None
    child_voice: Note | None
    assessed_by: Actor


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


TEAM_MOVED = "differs from the current team: the team around the family is changed with PUT /v1/cases/{case_id}/team"


class PlanUpdate(Strict):
    goals: list[Goal] = Field(min_length=1, max_length=50)
    actions: list[Action] = Field(default_factory=list, max_length=200)
    team: list[TeamMember] | None = Field(
        max_length=50,
        default=None,
        description="Optional, and only as the plan was read: the current team (any other team is a 422 naming "
        "`/team`, which is changed with `PUT /v1/cases/{case_id}/team`). The plan's `team` in responses is the "
        "current team.",
    )
    review_dates: list[date] = Field(default_factory=list, max_length=20)
    next_review_due: date | None = None
    change_summary: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TeamUpdate(Strict):
    """The whole team around the family as it should now be (an empty list: no team)."""

    team: list[TeamMember] = Field(max_length=50)
    reason: Text


class TeamRead(BaseModel):
    case_id: uuid.UUID
    team: list[TeamMember] = Field(max_length=MANY)


class ReviewCreate(Strict):
    reviewed_on: date | None = None
    summary: Text
    progress: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    next_review_due: date | None = None


class ReviewRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    plan_version: Count
    reviewed_on: date
    summary: Note
    progress: list[dict[str, Any]] = Field(max_length=MANY)
    next_review_due: date | None
    recorded_by: Actor


class PlanRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    version: Count
    active: bool
    goals: list[dict[str, Any]] = Field(max_length=MANY)
    actions: list[dict[str, Any]] = Field(max_length=MANY)
    team: list[dict[str, Any]] = Field(max_length=MANY)
    review_dates: list[Code] = Field(max_length=MANY)
    next_review_due: date
    change_summary: Note | None
    created_by: Actor
    created_at: datetime
    reviews: list[ReviewRead] = Field(max_length=MANY, default_factory=list)


class ContactCreate(Strict):
    kind: ContactKind
    occurred_at: datetime
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    sensitive: bool = False


class ContactRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    kind: Code
    occurred_at: datetime
    note: Note
    sensitive: bool
    recorded_by: Actor


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
