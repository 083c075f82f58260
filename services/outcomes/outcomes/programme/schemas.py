"""Shapes of programme phases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.fields import MANY, Actor, Code

FundingModel = Literal["payment_by_results", "earned_autonomy"]


class PhasePut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: date
    ends_on: date
    funding_model: FundingModel = Field(
        default="payment_by_results",
        description="`payment_by_results`: claims are for payment; `earned_autonomy`: funded up front, claims are "
        "records of outcome evidence that go through the same local audit",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PhasePut:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class PhaseRead(BaseModel):
    code: Code
    starts_on: date | None
    ends_on: date | None
    funding_model: FundingModel
    source: Literal["defined", "setting"] = Field(
        description="`defined` with `PUT /v1/programme/phases/{code}`; `setting`: OUTCOMES_PROGRAMME_PHASE (no "
        "defined phase holds today)"
    )
    updated_by: Actor | None = None
    updated_at: datetime | None = None


class ProgrammeRead(BaseModel):
    current: PhaseRead = Field(description="The phase that holds today's date")
    phases: list[PhaseRead] = Field(max_length=MANY, description="Every defined phase, oldest first")
