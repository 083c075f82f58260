"""Request and response shapes of identified families and their decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.fields import (
    CODE_LENGTH,
    MANY,
    PAGE_ITEMS,
    REASON_LENGTH,
    REPORT_ROWS,
    SHORT_TEXT_LENGTH,
    Actor,
    Address,
    Code,
    Count,
    Cursor,
    ShortText,
)
from shared.fields import Reason as ReasonText

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_LENGTH)]
RecordRef = Annotated[str, StringConstraints(max_length=2 * CODE_LENGTH + SHORT_TEXT_LENGTH + 2)]
"""`kind:agency:record_id` of a partner record (a CSV value is at most 200 characters)."""


class NeedEvidenceRead(BaseModel):
    dataset: Code
    source_agency: Code
    record_id: ShortText
    date: date | None
    shows: ReasonText
    person_key: Code


class NeedRead(BaseModel):
    code: Code
    name: ShortText
    evidence: list[NeedEvidenceRead] = Field(max_length=MANY)


class MemberRead(BaseModel):
    person_key: Code
    given_name: ShortText | None
    family_name: ShortText | None
    date_of_birth: date | None
    reason: ReasonText = Field(description="Why this person is in the household")
    records: list[RecordRef] = Field(
        max_length=MANY, description="The partner records linked to this person: kind:agency:record_id"
    )


class DecisionRead(BaseModel):
    decision: Code
    reason: ReasonText | None
    decided_by: Actor
    decided_at: datetime


class IdentifiedFamilyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    hub: Code
    hub_defaulted: bool
    postcode: Code | None
    address_line: Address | None
    framework: ShortText
    need_count: Count
    needs: list[NeedRead] = Field(max_length=MANY)
    latest_evidence: date | None
    members: list[MemberRead] = Field(max_length=MANY)
    statutory: Code | None = Field(description="cin, cp or cla: known to social care, shown and not offered")
    status: Code = Field(description="identified, statutory, referred, not_now or dismissed")
    decision: DecisionRead | None
    identified_at: datetime
    updated_at: datetime


class IdentifiedFamilyPage(BaseModel):
    items: list[IdentifiedFamilyRead] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["refer", "not_now", "dismiss"]
    reason: Reason | None = Field(default=None, description="Required to dismiss or put off (not now)")


class NeedCount(BaseModel):
    need: Code
    families: Count


class NeedCombination(BaseModel):
    needs: list[Code] = Field(max_length=MANY)
    families: Count


class NeedProfileRead(BaseModel):
    """Commissioning view: how common each need is and which needs occur together (counts only)."""

    framework: ShortText | None
    hub: Code | None
    postcode_district: Code | None
    families: Count
    statutory: Count
    needs: list[NeedCount] = Field(max_length=MANY)
    combinations: list[NeedCombination] = Field(max_length=REPORT_ROWS)
    by_area: list[dict[str, Any]] = Field(max_length=REPORT_ROWS, description="[{hub, postcode_district, families}]")
