"""The intelligence service's answers, as the gateway reads them (`intelligence.families.schemas`)."""

from __future__ import annotations

from datetime import date, datetime

from gateway.upstream import KeysetPage, UpstreamModel


class NeedEvidenceRead(UpstreamModel):
    dataset: str
    source_agency: str
    record_id: str
    date: date | None
    shows: str


class NeedRead(UpstreamModel):
    code: str
    name: str
    evidence: list[NeedEvidenceRead]


class MemberRead(UpstreamModel):
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    reason: str
    records: list[str]


class DecisionRead(UpstreamModel):
    decision: str
    reason: str | None
    decided_by: str
    decided_at: datetime


class IdentifiedFamilyRead(UpstreamModel):
    id: str
    hub: str
    postcode: str | None
    framework: str
    need_count: int
    needs: list[NeedRead]
    latest_evidence: date | None
    members: list[MemberRead]
    statutory: str | None
    status: str
    cases_check: str
    cases_checked_at: datetime | None
    decision: DecisionRead | None
    identified_at: datetime
    updated_at: datetime


class IdentifiedFamilyPage(KeysetPage[IdentifiedFamilyRead]):
    next_cursor: str | None


class NeedCount(UpstreamModel):
    need: str
    families: int


class NeedCombination(UpstreamModel):
    needs: list[str]
    families: int


class AreaCount(UpstreamModel):
    hub: str
    postcode_district: str
    families: int


class NeedProfilePoint(UpstreamModel):
    as_of: date
    families: int | None
    needs: list[NeedCount]


class NeedProfileRead(UpstreamModel):
    framework: str | None
    hub: str | None
    postcode_district: str | None
    as_of: date | None
    families: int | None
    statutory: int | None
    needs: list[NeedCount]
    combinations: list[NeedCombination]
    by_area: list[AreaCount]
    over_time: list[NeedProfilePoint]
    suppressed_cells: int
    small_count_threshold: int
