"""Request and response shapes of observation loading (JSON batches and CSV imports)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import MANY, Code, Count, Reason, ShortText

SESSIONS = 10_000
"""More sessions than a school year holds (about 380): a bound, not a rule of attendance."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _PersonRef(_Strict):
    person_id: uuid.UUID | None = None
    nhs_number: str | None = Field(default=None, max_length=20)
    upn: str | None = Field(default=None, max_length=20)


class AttendanceRow(_PersonRef):
    kind: Literal["attendance"]
    term_start: date
    term_end: date
    possible_sessions: int = Field(ge=0, le=SESSIONS)
    attended_sessions: int = Field(ge=0, le=SESSIONS)
    unauthorised_sessions: int = Field(0, ge=0, le=SESSIONS)
    suspensions: int = Field(0, ge=0, le=SESSIONS)
    permanently_excluded: bool = False


class IncidentRow(_PersonRef):
    kind: Literal["offence", "asb", "domestic_abuse_incident"]
    family_id: uuid.UUID | None = None
    occurred_on: date
    reference: str = Field("", max_length=100)


class StatusRow(_PersonRef):
    kind: Literal["employment", "housing", "neet", "financial"]
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
    line: Count = Field(description="CSV line number (the header is line 1), or the row's index in a JSON batch")
    column: ShortText
    reason: Reason


class KindReport(BaseModel):
    kind: Code
    import_id: uuid.UUID
    rows_total: Count
    rows_loaded: Count
    rows_already_present: Count
    rows_unknown_person: Count
    rows_rejected: Count


class ImportReport(BaseModel):
    import_ids: list[uuid.UUID] = Field(max_length=MANY)
    rows_total: Count
    rows_loaded: Count
    rows_already_present: Count
    rows_unknown_person: Count
    rows_rejected: Count
    errors: list[RowError] = Field(max_length=MANY)
    errors_truncated: bool = False
    by_kind: list[KindReport] = Field(max_length=MANY)
