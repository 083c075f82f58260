"""Request and response shapes of identified families and their decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class NeedEvidenceRead(BaseModel):
    dataset: str
    source_agency: str
    record_id: str
    date: date | None
    shows: str
    person_key: str


class NeedRead(BaseModel):
    code: str
    name: str
    evidence: list[NeedEvidenceRead]


class MemberRead(BaseModel):
    person_key: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    reason: str = Field(description="Why this person is in the household")
    records: list[str] = Field(description="The partner records linked to this person: kind:agency:record_id")


class DecisionRead(BaseModel):
    decision: str
    reason: str | None
    decided_by: str
    decided_at: datetime


class IdentifiedFamilyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    hub: str
    hub_defaulted: bool
    postcode: str | None
    address_line: str | None
    framework: str
    need_count: int
    needs: list[NeedRead]
    latest_evidence: date | None
    members: list[MemberRead]
    statutory: str | None = Field(description="cin, cp or cla: known to social care, shown and not offered")
    status: str = Field(description="identified, statutory, referred, not_now or dismissed")
    decision: DecisionRead | None
    identified_at: datetime
    updated_at: datetime


class IdentifiedFamilyPage(BaseModel):
    items: list[IdentifiedFamilyRead]
    next_cursor: str | None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["refer", "not_now", "dismiss"]
    reason: Reason | None = Field(default=None, description="Required to dismiss or put off (not now)")


class NeedCount(BaseModel):
    need: str
    families: int


class NeedCombination(BaseModel):
    needs: list[str]
    families: int


class NeedProfileRead(BaseModel):
    """Commissioning view: how common each need is and which needs occur together (counts only)."""

    framework: str | None
    hub: str | None
    postcode_district: str | None
    families: int
    statutory: int
    needs: list[NeedCount]
    combinations: list[NeedCombination]
    by_area: list[dict[str, Any]] = Field(description="[{hub, postcode_district, families}]")
