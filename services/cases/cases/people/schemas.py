"""Request and response bodies of the person index: people, matches and merges."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from cases.schemas import Name, Strict, Text
from shared.fields import FEW, Actor, Code, LongText, ShortText
from shared.identifiers import UPN, NHSNumber, Postcode


class PersonRead(BaseModel):
    """A person in the index (the contract's `Person`)."""

    id: uuid.UUID
    given_name: ShortText
    family_name: ShortText
    date_of_birth: date | None
    nhs_number: Code | None
    upn: Code | None
    postcode: Code | None


class MatchRequest(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: date
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None


class FieldWeightRead(BaseModel):
    """How one field compared, and the match weight (log2 of m/u) it added."""

    field: Code
    level: Code = Field(description="exact, short_form, fuzzy_high, fuzzy, different, transposed, one_part, full, "
                       "district, agree, disagree or missing")  # fmt: skip
    weight: float
    explanation: ShortText


class MatchCandidate(BaseModel):
    person: PersonRead
    score: float = Field(ge=0, le=1, description="The match probability from the calibrated model")
    match_weight: float = Field(description="The prior plus the weight of every field (log2 of the odds)")
    band: Code = Field(description="link, review or conflict")
    conflict: ShortText | None = Field(description="Why an agreeing identifier is not trusted, when it is not")
    fields: list[FieldWeightRead] = Field(max_length=FEW)
    reasons: list[ShortText] = Field(max_length=FEW)


class MatchResult(BaseModel):
    decision: Code = Field(description="link (one person, in `exact`), review (ranked `candidates`) or new")
    exact: list[PersonRead] = Field(max_length=1, description="The person linked automatically (at most one)")
    candidates: list[MatchCandidate] = Field(
        max_length=FEW,
        description="Every person shown, best first, each explained field by field (the linked one first, band link)",
    )


class PersonCreate(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None


class MergeRequest(Strict):
    merge_person_id: uuid.UUID = Field(description="The duplicate, merged into the person in the path")
    reason: Text


class UnmergeRequest(Strict):
    reason: Text


class MergeRead(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    reason: LongText
    merged_by: Actor
    merged_at: datetime
    moved: dict[str, Any]
    undone_at: datetime | None
    undone_by: Actor | None
    undo_reason: LongText | None


class KnownQuery(Strict):
    ref: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="The caller's own reference for this person, echoed in the answer (not stored)"
    )
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None


class KnownRequest(Strict):
    people: list[KnownQuery] = Field(min_length=1, max_length=200)


class KnownRead(BaseModel):
    ref: Annotated[str, StringConstraints(max_length=64)]
    status: Literal["open_case", "case_closed", "known_no_case", "not_known"] = Field(
        description="open_case (a family they are in has a case not closed), case_closed (known, the case closed), "
        "known_no_case (in the index, no case) or not_known"
    )


class KnownResult(BaseModel):
    items: list[KnownRead] = Field(max_length=200)
