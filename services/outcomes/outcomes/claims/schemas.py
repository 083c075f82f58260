"""Request and response shapes of claims, audit samples and decisions."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import UnprocessableContent, field_error
from shared.fields import PAGE_ITEMS, REPORT_ROWS, Actor, Code, Count, Cursor, Digest, Reason, ShortText
from shared.pagination import PageLinks


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimCreate(_Strict):
    family_id: uuid.UUID
    as_of: date | None = Field(default=None, description="Evaluation date of the evidence; today when omitted")


class ClaimRead(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    programme_phase: Code
    framework: Code
    framework_version: Code
    hub: ShortText | None
    status: Code
    funding_model: Code = Field(
        description="`payment_by_results`: a claim for payment; `earned_autonomy`: a record of outcome evidence "
        "(funded up front), audited the same way"
    )
    practitioner_assessed: bool
    evidence_sha256: Digest
    created_at: datetime
    created_by: Actor
    sample_id: uuid.UUID | None
    decided_by: Actor | None
    decided_at: datetime | None
    decision_reason: Reason | None
    evidence: dict[str, Any] | None = None


class ClaimList(PageLinks):
    items: list[ClaimRead] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None = None


class AuditSampleCreate(_Strict):
    rate: float = Field(gt=0, le=1, description="Share of pending claims to sample at random")
    seed: int = Field(ge=0, le=2**62)


class AuditSampleRead(BaseModel):
    id: uuid.UUID
    rate: float
    seed: int = Field(ge=0, le=2**62)
    population: Count
    random_claim_ids: list[uuid.UUID] = Field(max_length=REPORT_ROWS)
    practitioner_assessed_claim_ids: list[uuid.UUID] = Field(max_length=REPORT_ROWS)
    claim_ids: list[uuid.UUID] = Field(max_length=REPORT_ROWS)


class ClaimDecision(_Strict):
    decision: Literal["validated", "rejected"]
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> ClaimDecision:
        if self.decision == "rejected" and not (self.reason and self.reason.strip()):
            raise ValueError("a rejection needs a reason")
        return self


_PERIOD = re.compile(r"([0-9]{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?", re.ASCII)


@dataclass(frozen=True)
class Period:
    """A period of claim dates: a year, a quarter or a month, as [start, end) in UTC."""

    label: str
    """The period as ASCII text rebuilt from its parsed numbers (`2026`, `2026-Q1`, `2026-03`): safe in a file
    name or a header, whatever the request carried."""
    start: datetime
    end: datetime


def parse_period(raw: str, name: str = "period") -> Period:
    """`2026`, `2026-Q1` or `2026-03`, in ASCII digits and nothing else (no trailing newline, no other
    script's digits); anything else is a 422 naming the query parameter."""
    found = _PERIOD.fullmatch(raw)
    if not found:
        raise UnprocessableContent(
            "The period must be YYYY, YYYY-Qn or YYYY-MM",
            errors=[field_error(f"#query/{name}", "expected YYYY, YYYY-Qn or YYYY-MM")],
        )
    year = int(found.group(1))
    if found.group(2):
        first, months, label = int(found.group(2)), 1, f"{year:04d}-{int(found.group(2)):02d}"
    elif found.group(3):
        first, months, label = (int(found.group(3)) - 1) * 3 + 1, 3, f"{year:04d}-Q{found.group(3)}"
    else:
        first, months, label = 1, 12, f"{year:04d}"
    start = datetime(year, first, 1, tzinfo=UTC)
    end_month = first + months
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return Period(label=label, start=start, end=end)
