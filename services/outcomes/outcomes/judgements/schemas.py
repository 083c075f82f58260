"""Request and response shapes of a practitioner's judgement."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import Actor, Code


class JudgementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    need: str = Field(min_length=1, max_length=64, description="A need of the family's enrolment")
    met: bool = Field(description="Whether, in the practitioner's professional judgement, the need is met")
    evidence: str = Field(
        default="",
        max_length=10_000,
        description="What the judgement rests on (required where the framework asks, as the built-in ones do)",
    )
    assessed_on: date | None = Field(default=None, description="The day of the judgement; today when omitted")


class JudgementRead(BaseModel):
    family_id: uuid.UUID
    need: Code
    met: bool
    evidence: str = Field(max_length=10_000)
    assessed_on: date
    recorded_by: Actor
    already_recorded: bool = Field(description="A judgement on this need and day was recorded before (kept as it was)")
    import_id: uuid.UUID | None
