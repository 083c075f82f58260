"""Request and response shapes of evaluation and progress."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import MANY, Code, Count, Cursor, Reason, ShortText


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvaluationCreate(_Strict):
    family_id: uuid.UUID | None = Field(default=None, description="One family; the whole cohort when omitted")
    as_of: date | None = Field(default=None, description="Evaluation date; today when omitted")


class EvaluationRead(BaseModel):
    id: uuid.UUID
    as_of: date
    family_id: uuid.UUID | None
    families: Count
    results: Count
    met: Count
    changed: Count = Field(
        description="Results written by this run (new, or different from the stored one); a result reached "
        "again unchanged keeps the run and as_of at which it was established"
    )
    shards: Count = Field(
        default=1,
        description="How many parts (each on its own database connection) the families were evaluated in at once",
    )


class EvidenceRow(BaseModel):
    source: Code
    id: int = Field(ge=1, le=2**63 - 1)
    fields: dict[str, Any]


class NeedProgress(BaseModel):
    need: Code
    rule_kind: Code
    met: bool
    sustained: bool | None
    reason: Reason
    evaluated_at: datetime | None = Field(description="When this result was established (see `as_of`)")
    as_of: date | None = Field(
        description="The evaluation date of the run that established this result; later runs that reach the "
        "same verdict, reason and evidence leave it as it is"
    )
    evidence: list[EvidenceRow] | None = Field(default=None, max_length=MANY)


class FamilyProgress(BaseModel):
    family_id: uuid.UUID
    enrolment_id: uuid.UUID
    hub: ShortText | None
    programme_phase: Code
    framework: Code
    framework_version: Code
    start_date: date
    closed_on: date | None
    eligible: bool
    needs: list[NeedProgress] = Field(max_length=MANY)
    employment_route: NeedProgress | None = Field(
        default=None,
        description="Where the framework allows it: whether an adult has moved into continuous employment, "
        "which makes the family claimable whatever its needs' results",
    )
    claimable: bool


class ProgressList(BaseModel):
    items: list[FamilyProgress] = Field(max_length=MANY)
    next_cursor: Cursor | None = None
