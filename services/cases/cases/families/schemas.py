"""Request and response bodies of families: members and relationships."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from cases.people.schemas import PersonCreate, PersonRead
from cases.schemas import MemberRole, Name, Strict, Text
from shared.fields import MANY, Address, Code, ShortText
from shared.identifiers import Postcode


class MemberCreate(Strict):
    role: MemberRole
    person_id: uuid.UUID | None = None
    person: PersonCreate | None = None
    expected_on: date | None = None
    joined_on: date | None = None

    @model_validator(mode="after")
    def _person_or_unborn(self) -> MemberCreate:
        if self.role == "unborn":
            if self.expected_on is None:
                raise ValueError("an unborn member needs expected_on")
            if self.person_id or self.person:
                raise ValueError("an unborn member has no person record yet")
        elif (self.person_id is None) == (self.person is None):
            raise ValueError("give exactly one of person_id or person")
        return self


class FamilyCreate(Strict):
    name: Name
    hub: Name
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    postcode: Postcode | None = None
    members: list[MemberCreate] = Field(default_factory=list, max_length=30)


class MemberLeave(Strict):
    left_on: date | None = None
    reason: Text


class RelationshipCreate(Strict):
    person_id: uuid.UUID
    related_person_id: uuid.UUID
    kind: Annotated[str, StringConstraints(max_length=40, pattern=r"^[a-z_]{2,40}$")]


class MemberRead(BaseModel):
    id: uuid.UUID
    person: PersonRead | None
    role: Code
    expected_on: date | None
    joined_on: date
    left_on: date | None


class RelationshipRead(BaseModel):
    person_id: uuid.UUID
    related_person_id: uuid.UUID
    kind: Code


class FamilyRead(BaseModel):
    id: uuid.UUID
    name: ShortText
    hub: ShortText
    address: Address | None
    postcode: Code | None
    members: list[MemberRead] = Field(max_length=MANY)
    relationships: list[RelationshipRead] = Field(max_length=MANY, default_factory=list)
