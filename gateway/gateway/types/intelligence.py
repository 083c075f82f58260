"""Families identified from partner datasets, their human decision, and the need profile (the intelligence
service, issue 21)."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.types.common import parse_enum
from gateway.types.enums import CasesCheck, IdentifiedFamilyDecision, IdentifiedFamilyStatus
from gateway.upstream import intelligence as up


@strawberry.type(description="One partner record that shows a need.")
class NeedEvidence:
    dataset: str = strawberry.field(description="The dataset kind (school_census, police_incident, ...).")
    source_agency: str = strawberry.field(description="The agency that shared it.")
    record_id: str = strawberry.field(description="The record's id in that dataset.")
    date: date | None = strawberry.field(description="When the record happened.")
    shows: str = strawberry.field(description="What the record shows, in words.")


@strawberry.type(description="A need of an identified family, with the records that show it.")
class IdentifiedNeed:
    code: str = strawberry.field(description="The framework's need code.")
    name: str = strawberry.field(description="The need's name.")
    evidence: list[NeedEvidence] = strawberry.field(description="The records that show it.")


@strawberry.type(description="A person linked into an identified household.")
class IdentifiedMember:
    given_name: str | None = strawberry.field(description="Given name, as the records have it.")
    family_name: str | None = strawberry.field(description="Family name, as the records have it.")
    date_of_birth: date | None = strawberry.field(description="Date of birth.")
    reason: str = strawberry.field(description="Why this person is in the household.")
    records: list[str] = strawberry.field(description="The partner records linked to them (kind:agency:record_id).")


@strawberry.type(description="The human decision on an identified family.")
class IdentifiedFamilyDecisionRecord:
    decision: IdentifiedFamilyDecision | None = strawberry.field(description="Refer, not now, or dismiss.")
    reason: str | None = strawberry.field(description="Why.")
    decided_by: str = strawberry.field(description="Who decided (token subject).")
    decided_at: datetime = strawberry.field(description="When.")


@strawberry.type(description="A household the intelligence service identified from partner data as likely to need "
                 "early help, ranked by its number of needs.")  # fmt: skip
class IdentifiedFamily:
    id: strawberry.ID = strawberry.field(description="The identified family's id (in the intelligence service).")
    hub: str = strawberry.field(description="The hub its address falls in.")
    postcode: str | None = strawberry.field(description="The household's postcode.")
    framework: str = strawberry.field(description="The outcome framework its needs were identified against.")
    need_count: int = strawberry.field(description="How many of the framework's needs the records show.")
    needs: list[IdentifiedNeed] = strawberry.field(description="The needs, each with its evidence.")
    latest_evidence: date | None = strawberry.field(description="The date of the newest record.")
    members: list[IdentifiedMember] = strawberry.field(description="Who is in the household, and why.")
    statutory: str | None = strawberry.field(description="cin, cp or cla: known to social care (not offered).")
    status: IdentifiedFamilyStatus | None = strawberry.field(description="Where the family stands.")
    cases_check: CasesCheck | None = strawberry.field(
        description="What the cases person index says of its members: OPEN_CASE (shown as such, not offered as new), "
        "CASE_CLOSED, KNOWN_NO_CASE, NOT_KNOWN, or UNCHECKED (cases has not answered yet: never taken as not known)."
    )
    cases_checked_at: datetime | None = strawberry.field(description="When cases last answered.")
    decision: IdentifiedFamilyDecisionRecord | None = strawberry.field(description="The decision, once made.")
    identified_at: datetime = strawberry.field(description="When it was first identified.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_upstream(cls, data: up.IdentifiedFamilyRead) -> IdentifiedFamily:
        decision = data.decision
        return cls(
            id=strawberry.ID(data.id),
            hub=data.hub,
            postcode=data.postcode,
            framework=data.framework,
            need_count=data.need_count,
            needs=[
                IdentifiedNeed(
                    code=n.code,
                    name=n.name,
                    evidence=[
                        NeedEvidence(
                            dataset=e.dataset,
                            source_agency=e.source_agency,
                            record_id=e.record_id,
                            date=e.date,
                            shows=e.shows,
                        )
                        for e in n.evidence
                    ],
                )
                for n in data.needs
            ],
            latest_evidence=data.latest_evidence,
            members=[
                IdentifiedMember(
                    given_name=m.given_name,
                    family_name=m.family_name,
                    date_of_birth=m.date_of_birth,
                    reason=m.reason,
                    records=list(m.records),
                )
                for m in data.members
            ],
            statutory=data.statutory,
            status=parse_enum(IdentifiedFamilyStatus, data.status),
            cases_check=parse_enum(CasesCheck, data.cases_check),
            cases_checked_at=data.cases_checked_at,
            decision=IdentifiedFamilyDecisionRecord(
                decision=parse_enum(IdentifiedFamilyDecision, decision.decision),
                reason=decision.reason,
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
            )
            if decision
            else None,
            identified_at=data.identified_at,
            updated_at=data.updated_at,
        )


@strawberry.type(description="How many families have a need (5 or more: smaller counts are not listed).")
class NeedCount:
    need: str = strawberry.field(description="The need code.")
    families: int = strawberry.field(description="How many identified families have it.")


@strawberry.type(description="Needs that occur together, and in how many families (5 or more).")
class NeedCombination:
    needs: list[str] = strawberry.field(description="The need codes.")
    families: int = strawberry.field(description="How many identified families have exactly these.")


@strawberry.type(description="The need profile at one linkage run's as-of date.")
class NeedProfilePoint:
    as_of: date = strawberry.field(description="The date the run identified needs as at.")
    families: int | None = strawberry.field(description="Identified families then; null when 1 to 4 (suppressed).")
    needs: list[NeedCount] = strawberry.field(description="Each need's prevalence then.")


@strawberry.type(
    description="Commissioning view: how common each need is and which occur together, by hub and postcode "
    "district and over time. Counts only; counts from 1 to 4 are suppressed."
)
class NeedProfile:
    framework: str | None = strawberry.field(description="The framework the needs are of.")
    hub: str | None = strawberry.field(description="The hub asked for, if any.")
    postcode_district: str | None = strawberry.field(description="The postcode district asked for, if any.")
    as_of: date | None = strawberry.field(description="The as-of date of the latest linkage run.")
    families: int | None = strawberry.field(description="Identified families counted; null when 1 to 4.")
    statutory: int | None = strawberry.field(description="Of them, known to social care; null when 1 to 4.")
    needs: list[NeedCount] = strawberry.field(description="Each need's prevalence.")
    combinations: list[NeedCombination] = strawberry.field(description="The needs that occur together.")
    by_area: JSONScalar = strawberry.field(description="Families by hub and postcode district (5 or more).")
    over_time: list[NeedProfilePoint] = strawberry.field(description="One point per linkage run's as-of date.")
    suppressed_cells: int = strawberry.field(description="Needs, combinations and areas withheld as too small.")
    small_count_threshold: int = strawberry.field(description="Counts below this (and above 0) are never shown.")

    @classmethod
    def from_upstream(cls, data: up.NeedProfileRead) -> NeedProfile:
        return cls(
            framework=data.framework,
            hub=data.hub,
            postcode_district=data.postcode_district,
            as_of=data.as_of,
            families=data.families,
            statutory=data.statutory,
            needs=[NeedCount(need=n.need, families=n.families) for n in data.needs],
            combinations=[NeedCombination(needs=list(c.needs), families=c.families) for c in data.combinations],
            by_area=cast(JSONScalar, [a.model_dump() for a in data.by_area]),
            over_time=[
                NeedProfilePoint(
                    as_of=p.as_of,
                    families=p.families,
                    needs=[NeedCount(need=n.need, families=n.families) for n in p.needs],
                )
                for p in data.over_time
            ],
            suppressed_cells=data.suppressed_cells,
            small_count_threshold=data.small_count_threshold,
        )
