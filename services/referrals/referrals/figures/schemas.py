"""Shapes of the triage figures: counts and durations only."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Decision(BaseModel):
    hub: str
    outcome: str
    days: float = Field(description="From receipt to decision")
    on_time: bool = Field(description="Decided by its due time (working days)")


class TriageFigures(BaseModel):
    """Counts and durations only: no referral ids, names or identifiers."""

    decisions: list[Decision]
    accepted_by_month_hub: dict[str, dict[str, int]] = Field(description="Accepted referrals by month of decision")
    open_referrals: int
    open_breached: int
