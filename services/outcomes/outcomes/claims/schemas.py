"""Request and response shapes of claims, audit samples and decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
