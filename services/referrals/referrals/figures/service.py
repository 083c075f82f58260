"""The rules of the triage figures: analysts and admins see every hub, hub managers their own."""

from __future__ import annotations

from collections import defaultdict

from referrals.figures.repository import FiguresRepository
from referrals.figures.schemas import Decision, TriageFigures
from shared.auth import Principal


async def triage_figures(repo: FiguresRepository, principal: Principal) -> TriageFigures:
    hubs = None if principal.has_role("analyst", "admin") else list(principal.hubs)
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
