"""Shapes of the triage figures: counts and durations only."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.fields import REPORT_ROWS, Code, Count


class Decision(BaseModel):
    hub: Code
    outcome: Code
    days: float = Field(description="From receipt to decision")
    on_time: bool = Field(description="Decided by its due time (working days)")


class TriageFigures(BaseModel):
    """Counts and durations only: no referral ids, names or identifiers."""

    decisions: list[Decision] = Field(max_length=REPORT_ROWS)
    accepted_by_month_hub: dict[str, dict[str, Count]] = Field(description="Accepted referrals by month of decision")
    open_referrals: Count
    open_breached: Count
