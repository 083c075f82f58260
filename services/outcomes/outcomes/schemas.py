"""Request and response shapes of the outcomes service, and the schema a framework file must satisfy."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

INCIDENT_KINDS = ("offence", "asb", "domestic_abuse_incident")
STATUS_KINDS = ("employment", "housing", "neet")
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- frameworks --------------------------------------------------------------------------------------------


class AttendanceThresholdParams(_Strict):
    min_percent: float = Field(90, gt=0, le=100)
    terms: int = Field(3, ge=1, le=9)
    max_suspensions: int = Field(3, ge=1)


class IncidentMeasure(_Strict):
    kind: Literal["offence", "asb", "domestic_abuse_incident"]
    percent: float = Field(gt=0, le=100)


class ReductionVsBaselineParams(_Strict):
    measures: list[IncidentMeasure] = Field(min_length=1)
    months: int = Field(6, ge=1, le=36)


class NoIncidentsInWindowParams(_Strict):
    kind: Literal["offence", "asb", "domestic_abuse_incident"]
    months: int = Field(6, ge=1, le=36)


class ContinuousStatusParams(_Strict):
    kind: Literal["employment", "housing", "neet"]
    statuses: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    weeks: int = Field(ge=1, le=520)
    who: Literal["adult", "young_person", "any"] = "adult"
    since_start: bool = False
    """Only spells begun on or after the family's start count: a move into the status, not one held before."""


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


class PractitionerAssessedRule(_Strict):
    kind: Literal["practitioner_assessed"]
    params: PractitionerAssessedParams = Field(default_factory=PractitionerAssessedParams)


Rule = Annotated[
    AttendanceThresholdRule
    | ReductionVsBaselineRule
    | NoIncidentsInWindowRule
    | ContinuousStatusRule
    | PractitionerAssessedRule,
    Field(discriminator="kind"),
]


class NeedDefinition(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    descriptors: list[str] = Field(default_factory=list)
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
        """Checks across fields, as (JSON pointer, message): unique need codes, min_needs within reach."""
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, need in enumerate(self.needs):
            if need.code in seen:
                found.append((f"/needs/{i}/code", f"need code {need.code!r} appears more than once"))
            seen.add(need.code)
        if self.min_needs > len(self.needs):
            found.append(("/min_needs", f"min_needs ({self.min_needs}) is more than the {len(self.needs)} needs"))
        return found

    def need(self, code: str) -> NeedDefinition | None:
        return next((n for n in self.needs if n.code == code), None)


class FrameworkSummary(BaseModel):
    code: str
    version: str
    name: str
    is_current: bool
    active: bool
    builtin: bool
    loaded_at: datetime


class FrameworkList(BaseModel):
    items: list[FrameworkSummary]
    next_cursor: str | None = None


# --- observations ------------------------------------------------------------------------------------------


class _PersonRef(_Strict):
    person_id: uuid.UUID | None = None
    nhs_number: str | None = Field(default=None, max_length=20)
    upn: str | None = Field(default=None, max_length=20)


class AttendanceRow(_PersonRef):
    kind: Literal["attendance"]
    term_start: date
    term_end: date
    possible_sessions: int = Field(ge=0)
    attended_sessions: int = Field(ge=0)
    unauthorised_sessions: int = Field(0, ge=0)
    suspensions: int = Field(0, ge=0)
    permanently_excluded: bool = False


class IncidentRow(_PersonRef):
    kind: Literal["offence", "asb", "domestic_abuse_incident"]
    family_id: uuid.UUID | None = None
    occurred_on: date
    reference: str = Field("", max_length=100)


class StatusRow(_PersonRef):
    kind: Literal["employment", "housing", "neet"]
    status: str = Field(min_length=1, max_length=60)
    period_start: date
    period_end: date | None = None


class PractitionerAssessmentRow(_Strict):
    kind: Literal["practitioner_assessment"]
    family_id: uuid.UUID
    need: str = Field(min_length=1, max_length=64)
    met: bool
    evidence: str = Field("", max_length=10_000)
    assessed_on: date


ObservationRow = Annotated[
    AttendanceRow | IncidentRow | StatusRow | PractitionerAssessmentRow, Field(discriminator="kind")
]


class ObservationBatch(_Strict):
    source_agency: str | None = Field(default=None, max_length=64, description="Defaults to the caller's agency")
    rows: list[ObservationRow] = Field(min_length=1, max_length=10_000)


class RowError(BaseModel):
    line: int = Field(description="CSV line number (the header is line 1), or the row's index in a JSON batch")
    column: str
    reason: str


class KindReport(BaseModel):
    kind: str
    import_id: uuid.UUID
    rows_total: int
    rows_loaded: int
    rows_already_present: int
    rows_unknown_person: int
    rows_rejected: int


class ImportReport(BaseModel):
    import_ids: list[uuid.UUID]
    rows_total: int
    rows_loaded: int
    rows_already_present: int
    rows_unknown_person: int
    rows_rejected: int
    errors: list[RowError]
    errors_truncated: bool = False
    by_kind: list[KindReport]


# --- evaluation and progress -------------------------------------------------------------------------------


class EvaluationCreate(_Strict):
    family_id: uuid.UUID | None = Field(default=None, description="One family; the whole cohort when omitted")
    as_of: date | None = Field(default=None, description="Evaluation date; today when omitted")


class EvaluationRead(BaseModel):
    id: uuid.UUID
    as_of: date
    family_id: uuid.UUID | None
    families: int
    results: int
    met: int
    changed: int = Field(
        description="Results written by this run (new, or different from the stored one); a result reached "
        "again unchanged keeps the run and as_of at which it was established"
    )
    shards: int = Field(
        default=1,
        description="How many parts (each on its own database connection) the families were evaluated in at once",
    )


class EvidenceRow(BaseModel):
    source: str
    id: int
    fields: dict[str, Any]


class NeedProgress(BaseModel):
    need: str
    rule_kind: str
    met: bool
    sustained: bool | None
    reason: str
    evaluated_at: datetime | None = Field(description="When this result was established (see `as_of`)")
    as_of: date | None = Field(
        description="The evaluation date of the run that established this result; later runs that reach the "
        "same verdict, reason and evidence leave it as it is"
    )
    evidence: list[EvidenceRow] | None = None


class FamilyProgress(BaseModel):
    family_id: uuid.UUID
    enrolment_id: uuid.UUID
    hub: str | None
    programme_phase: str
    framework: str
    framework_version: str
    start_date: date
    closed_on: date | None
    eligible: bool
    needs: list[NeedProgress]
    employment_route: NeedProgress | None = Field(
        default=None,
        description="Where the framework allows it: whether an adult has moved into continuous employment, "
        "which makes the family claimable whatever its needs' results",
    )
    claimable: bool


class ProgressList(BaseModel):
    items: list[FamilyProgress]
    next_cursor: str | None = None


# --- claims ------------------------------------------------------------------------------------------------


class ClaimCreate(_Strict):
    family_id: uuid.UUID
    as_of: date | None = Field(default=None, description="Evaluation date of the evidence; today when omitted")


class ClaimRead(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    programme_phase: str
    framework: str
    framework_version: str
    hub: str | None
    status: str
    practitioner_assessed: bool
    evidence_sha256: str
    created_at: datetime
    created_by: str
    sample_id: uuid.UUID | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    evidence: dict[str, Any] | None = None


class ClaimList(BaseModel):
    items: list[ClaimRead]
    next_cursor: str | None = None


class AuditSampleCreate(_Strict):
    rate: float = Field(gt=0, le=1, description="Share of pending claims to sample at random")
    seed: int = Field(ge=0, le=2**62)


class AuditSampleRead(BaseModel):
    id: uuid.UUID
    rate: float
    seed: int
    population: int
    random_claim_ids: list[uuid.UUID]
    practitioner_assessed_claim_ids: list[uuid.UUID]
    claim_ids: list[uuid.UUID]


class ClaimDecision(_Strict):
    decision: Literal["validated", "rejected"]
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> ClaimDecision:
        if self.decision == "rejected" and not (self.reason and self.reason.strip()):
            raise ValueError("a rejection needs a reason")
        return self
