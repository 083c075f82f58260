"""Thin HTTP handler of the triage figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from referrals.figures.repository import FiguresRepository
from shared.auth import Principal, require_roles
from shared.db import SessionDep

router = APIRouter(prefix="/v1", tags=["referrals"])
FiguresReader = Annotated[Principal, Depends(require_roles("analyst", "hub_manager", "admin"))]


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


@router.get(
    "/reports/triage",
    summary="Aggregated, pseudonymised triage figures (analysts and admins: every hub; hub managers: theirs)",
)
async def triage_figures(session: SessionDep, principal: FiguresReader) -> TriageFigures:
    hubs = None if principal.has_role("analyst", "admin") else list(principal.hubs)
    repo = FiguresRepository(session)
    decisions = await repo.decisions(hubs)
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in decisions:
        if d.outcome == "accepted":
            by_month[d.month][d.hub] += 1
    open_referrals, open_breached = await repo.open_counts(hubs)
    return TriageFigures(
        decisions=[Decision(hub=d.hub, outcome=d.outcome, days=float(d.days), on_time=d.on_time) for d in decisions],
        accepted_by_month_hub={m: dict(h) for m, h in sorted(by_month.items())},
        open_referrals=open_referrals,
        open_breached=open_breached,
    )
