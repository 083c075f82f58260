"""The schema a framework file must satisfy, and the framework list's shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import fields as bounds
from shared.contracts import descriptor_form

Code = Annotated[str, Field(max_length=64, pattern=r"^[a-z][a-z0-9_-]{1,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttendanceThresholdParams(_Strict):
    min_percent: float = Field(90, gt=0, le=100)
    terms: int = Field(3, ge=1, le=9)
    suspensions_fewer_than: int = Field(
        3,
        ge=1,
        description="A child meets the rule with fewer suspensions than this over the terms: 3 allows 0, 1 or 2.",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """`max_suspensions` read as "up to" but meant "fewer than": it is refused, naming its new name."""
        if isinstance(data, dict) and "max_suspensions" in data:
            raise ValueError(
                "max_suspensions was renamed suspensions_fewer_than (a child meets the rule with fewer "
                f'suspensions than it): write "suspensions_fewer_than": {data["max_suspensions"]!r}'
            )
        return data


class IncidentMeasure(_Strict):
    kind: Literal["offence", "asb", "domestic_abuse_incident"]
    percent: float = Field(gt=0, le=100)


class ReductionVsBaselineParams(_Strict):
    measures: list[IncidentMeasure] = Field(min_length=1)
    months: int = Field(6, ge=1, le=36)


class NoIncidentsInWindowParams(_Strict):
    kind: Literal["offence", "asb", "domestic_abuse_incident"]
    months: int = Field(6, ge=1, le=36)


StatusKind = Literal["employment", "housing", "neet", "financial"]
Who = Literal["adult", "young_person", "any"]


class StatusMeasure(_Strict):
    """One status that shows progress: held by someone of `who` (`adult`: parent_carer or other_adult)."""

    kind: StatusKind
    statuses: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    who: Who = "adult"


class ContinuousStatusParams(_Strict):
    kind: StatusKind
    statuses: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    weeks: int = Field(ge=1, le=520)
    who: Who = "adult"
    since_start: bool = False
    """Only spells begun on or after the family's start count: a move into the status, not one held before."""

    @property
    def measures(self) -> list[StatusMeasure]:
        return [StatusMeasure(kind=self.kind, statuses=self.statuses, who=self.who)]


class AnyContinuousStatusParams(_Strict):
    """Several statuses, any of which shows progress on one need (Families First "living standards": an adult
    into work, secure housing, financial stability, or a young person into education, employment or training)."""

    measures: list[StatusMeasure] = Field(min_length=1)
    weeks: int = Field(ge=1, le=520)
    since_start: bool = False


class PractitionerAssessedParams(_Strict):
    evidence_required: bool = True


class AttendanceThresholdRule(_Strict):
    kind: Literal["attendance_threshold"]
    params: AttendanceThresholdParams = Field(default_factory=AttendanceThresholdParams)


class ReductionVsBaselineRule(_Strict):
    kind: Literal["reduction_vs_baseline"]
    params: ReductionVsBaselineParams


class NoIncidentsInWindowRule(_Strict):
    kind: Literal["no_incidents_in_window"]
    params: NoIncidentsInWindowParams


class ContinuousStatusRule(_Strict):
    kind: Literal["continuous_status"]
    params: ContinuousStatusParams


class AnyContinuousStatusRule(_Strict):
    kind: Literal["any_continuous_status"]
    params: AnyContinuousStatusParams


class PractitionerAssessedRule(_Strict):
    kind: Literal["practitioner_assessed"]
    params: PractitionerAssessedParams = Field(default_factory=PractitionerAssessedParams)


Rule = Annotated[
    AttendanceThresholdRule
    | ReductionVsBaselineRule
    | NoIncidentsInWindowRule
    | ContinuousStatusRule
    | AnyContinuousStatusRule
    | PractitionerAssessedRule,
    Field(discriminator="kind"),
]


class Descriptor(_Strict):
    """What an assessment names (`code`, stable across wording changes) and what a practitioner reads (`label`).
    A council may write a descriptor as a bare sentence: it becomes the label, and its words the code."""

    code: Code
    label: str = Field(min_length=1, max_length=300)

    @model_validator(mode="before")
    @classmethod
    def _from_sentence(cls, value: Any) -> Any:
        return descriptor_form(value)


class NeedDefinition(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    descriptors: list[Descriptor] = Field(default_factory=list)
    rule: Rule


EMPLOYMENT_ROUTE = "route:continuous_employment"
"""The need code under which the employment route's result is stored (no framework need can have it)."""


class EmploymentRoute(_Strict):
    """The other way to a claim, where a framework allows it: an adult of the family has moved into continuous
    employment, a spell begun on or after the family's start and held without a break for `weeks`."""

    statuses: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["employed", "self_employed"], min_length=1
    )
    weeks: int = Field(default=26, ge=1, le=520)

    def params(self) -> ContinuousStatusParams:
        return ContinuousStatusParams(
            kind="employment", statuses=self.statuses, weeks=self.weeks, who="adult", since_start=True
        )


class FrameworkDefinition(_Strict):
    """A framework version as a council writes it (the built-in files are validated against this too)."""

    code: Code
    version: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    min_needs: int = Field(ge=1)
    requires_dependent_children: bool = False
    sustain_months: int | None = Field(default=None, ge=1, le=36)
    needs: list[NeedDefinition] = Field(min_length=1)
    employment_route: EmploymentRoute | None = None
    """When set, a family is also claimable once an adult has moved into continuous employment, whatever its
    needs' results."""

    def problems(self) -> list[tuple[str, str]]:
        """Checks across fields, as (JSON pointer, message): unique need codes, unique descriptor codes within a
        need, min_needs within reach."""
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, need in enumerate(self.needs):
            if need.code in seen:
                found.append((f"/needs/{i}/code", f"need code {need.code!r} appears more than once"))
            seen.add(need.code)
            codes = [d.code for d in need.descriptors]
            for j, code in enumerate(codes):
                if code in codes[:j]:
                    found.append((f"/needs/{i}/descriptors/{j}/code", f"descriptor code {code!r} appears twice"))
        if self.min_needs > len(self.needs):
            found.append(("/min_needs", f"min_needs ({self.min_needs}) is more than the {len(self.needs)} needs"))
        return found

    def need(self, code: str) -> NeedDefinition | None:
        return next((n for n in self.needs if n.code == code), None)


class FrameworkSummary(BaseModel):
    code: bounds.Code
    version: bounds.Code
    name: bounds.ShortText
    is_current: bool
    active: bool
    builtin: bool
    loaded_at: datetime


class FrameworkList(BaseModel):
    items: list[FrameworkSummary] = Field(max_length=bounds.REPORT_ROWS)
    next_cursor: bounds.Cursor | None = None


class ActiveFrameworkSet(_Strict):
    """`PUT /v1/frameworks/active`: the framework new assessments use from `effective_from` on."""

    framework: Code = Field(description="A loaded framework's code; its current version is used")
    effective_from: date = Field(description="Today or a later date (a change is never backdated)")
    reason: str = Field(min_length=1, max_length=2000, description="Why, for the audit trail")


class ActiveFrameworkChangeRead(BaseModel):
    id: uuid.UUID
    framework: bounds.Code
    effective_from: date
    reason: bounds.Reason
    changed_by: bounds.Actor
    changed_at: datetime


class ActiveFrameworkState(BaseModel):
    """The framework active today, and every change made (the schedule and its audit trail)."""

    active: bounds.Code = Field(description="The code of the framework new assessments use today")
    version: bounds.Code = Field(description="Its current version")
    source: Literal["setting", "change"] = Field(
        description="`setting`: OUTCOMES_ACTIVE_FRAMEWORK, no change effective yet; `change`: an admin's change"
    )
    changes: list[ActiveFrameworkChangeRead] = Field(max_length=bounds.MANY)
