"""Request and response bodies of the person index: people, matches and merges."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from cases.schemas import Name, Strict, Text
from shared.identifiers import UPN, NHSNumber, Postcode


class PersonRead(BaseModel):
    """A person in the index (the contract's `Person`)."""

    id: uuid.UUID
    given_name: str
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None
    upn: str | None
    postcode: str | None


class MatchRequest(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: date
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None


class FieldWeightRead(BaseModel):
    """How one field compared, and the match weight (log2 of m/u) it added."""

    field: str
    level: str = Field(description="exact, short_form, fuzzy_high, fuzzy, different, transposed, one_part, full, "
                       "district, agree, disagree or missing")  # fmt: skip
    weight: float
    explanation: str


class MatchCandidate(BaseModel):
    person: PersonRead
    score: float = Field(ge=0, le=1, description="The match probability from the calibrated model")
    match_weight: float = Field(description="The prior plus the weight of every field (log2 of the odds)")
    band: str = Field(description="link, review or conflict")
    conflict: str | None = Field(description="Why an agreeing identifier is not trusted, when it is not")
    fields: list[FieldWeightRead]
    reasons: list[str]


class MatchResult(BaseModel):
    decision: str = Field(description="link (one person, in `exact`), review (ranked `candidates`) or new")
    exact: list[PersonRead] = Field(description="The person linked automatically (at most one)")
    candidates: list[MatchCandidate] = Field(
        description="Every person shown, best first, each explained field by field (the linked one first, band link)"
    )


MAX_BATCH_MATCHES = 100
"""The most people one `POST /v1/people/match/batch` may ask about (the referrals service's matching worker sends
the people of several referrals in one call)."""


class MatchBatchRequest(Strict):
    people: list[MatchRequest] = Field(
        min_length=1, max_length=MAX_BATCH_MATCHES, description="The people to match, each as `POST /v1/people/match`"
    )


class MatchBatchResult(BaseModel):
    results: list[MatchResult] = Field(
        max_length=MAX_BATCH_MATCHES, description="One answer per person asked about, in the order asked"
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
    reason: str
    merged_by: str
    merged_at: datetime
    moved: dict[str, Any]
    undone_at: datetime | None
    undone_by: str | None
    undo_reason: str | None
