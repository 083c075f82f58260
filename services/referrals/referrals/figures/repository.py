"""Every query of the triage figures: counts and durations only, never a referral's id or person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DECIDED = ("accepted", "signposted", "no_further_action", "stepped_up")


class FiguresRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def decisions(self, hubs: Sequence[str] | None) -> Sequence[Any]:
        """One row per decided referral: hub, outcome, days from receipt to decision, whether it was on time."""
        return (
            await self.session.execute(
                text(
                    """
                    SELECT hub, status AS outcome,
                           round(CAST(greatest(extract(epoch FROM decided_at - received_at), 0) / 86400 AS numeric), 3)
                               AS days,
                           decided_at <= decision_due_at AS on_time,
                           to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month
                    FROM referrals
                    WHERE decided_at IS NOT NULL AND status = ANY(:decided)
                      AND (CAST(:hubs AS text[]) IS NULL OR hub = ANY(CAST(:hubs AS text[])))
                    ORDER BY hub, decided_at
                    """
                ),
                {"decided": list(DECIDED), "hubs": list(hubs) if hubs is not None else None},
            )
        ).all()

    async def open_counts(self, hubs: Sequence[str] | None) -> tuple[int, int]:
        """Referrals awaiting a decision, and how many of them are past their due time."""
        row = (
            await self.session.execute(
                text(
                    """
                    SELECT count(*), count(*) FILTER (WHERE decision_due_at < now())
                    FROM referrals
                    WHERE status IN ('received', 'screening')
                      AND (CAST(:hubs AS text[]) IS NULL OR hub = ANY(CAST(:hubs AS text[])))
                    """
                ),
                {"hubs": list(hubs) if hubs is not None else None},
            )
        ).one()
        return int(row[0]), int(row[1])
