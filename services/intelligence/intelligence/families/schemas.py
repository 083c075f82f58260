"""Request and response shapes of identified families and their decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.fields import (
    CODE_LENGTH,
    FEW,
    MANY,
    PAGE_ITEMS,
    REASON_LENGTH,
    SHORT_TEXT_LENGTH,
    Actor,
    Address,
    Code,
    Count,
    Cursor,
    ShortText,
)
from shared.fields import Reason as ReasonText
from shared.pagination import PageLinks

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_LENGTH)]
RecordRef = Annotated[str, StringConstraints(max_length=2 * CODE_LENGTH + SHORT_TEXT_LENGTH + 2)]
"""`kind:agency:record_id` of a partner record (a CSV value is at most 200 characters)."""

OVER_TIME_POINTS = 520
"""The need profile's trend keeps the latest this many as-of dates (ten years of weekly runs)."""


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
    status: Code = Field(description="identified, statutory, open_case, referred, not_now or dismissed")
    cases_check: Literal["unchecked", "open_case", "case_closed", "known_no_case", "not_known"] = Field(
        description="What the cases person index says of the members: open_case (a member's family has an open "
        "case: shown as such, not offered as new), case_closed, known_no_case, not_known, or unchecked (not asked "
        "yet, or cases did not answer: asked again later, never taken as not known)"
    )
    cases_checked_at: datetime | None
    decision: DecisionRead | None
    identified_at: datetime
    updated_at: datetime


class IdentifiedFamilyPage(PageLinks):
    items: list[IdentifiedFamilyRead] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["refer", "not_now", "dismiss"]
    reason: Reason | None = Field(default=None, description="Required to dismiss or put off (not now)")


class NeedCount(BaseModel):
    need: Code
    families: Count = Field(description="Identified families with this need (5 or more: smaller counts are not listed)")


class NeedCombination(BaseModel):
    needs: list[Code] = Field(max_length=FEW)
    families: Count = Field(description="Identified families with exactly these needs (5 or more)")


class AreaCount(BaseModel):
    hub: Code
    postcode_district: Code = Field(description="The district of the household's postcode, or `unknown`")
    families: Count = Field(description="Identified families in the area (5 or more)")


class NeedProfilePoint(BaseModel):
    as_of: date = Field(description="The date a linkage run identified needs as at")
    families: Count | None = Field(description="Identified families then; null when 1 to 4 (suppressed)")
    needs: list[NeedCount] = Field(max_length=FEW)


class NeedProfileRead(BaseModel):
    """Commissioning view: how common each need is and which needs occur together, by hub and postcode district,
    and over time (one point per linkage run's as-of date). Counts only; counts from 1 to 4 are suppressed."""

    framework: ShortText | None
    hub: Code | None
    postcode_district: Code | None
    as_of: date | None = Field(description="The as-of date of the latest linkage run")
    families: Count | None = Field(description="Identified families; null when 1 to 4 (suppressed)")
    statutory: Count | None = Field(description="Of them, known to social care; null when 1 to 4 (suppressed)")
    needs: list[NeedCount] = Field(max_length=FEW)
    combinations: list[NeedCombination] = Field(max_length=20, description="The 20 most common combinations shown")
    by_area: list[AreaCount] = Field(max_length=MANY)
    over_time: list[NeedProfilePoint] = Field(
        max_length=OVER_TIME_POINTS, description="One point per as-of date, the latest 520 at most"
    )
    suppressed_cells: Count = Field(description="How many needs, combinations and areas were withheld as too small")
    small_count_threshold: Annotated[int, Field(ge=1, le=100)] = Field(
        description="Counts below this (and above 0) are never shown"
    )
