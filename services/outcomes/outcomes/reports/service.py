"""The cohort report: counts only, no names, identifiers or family ids."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from outcomes.config import Settings
from outcomes.reports.repository import ReportsRepository


def cohort_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "enrolled", "evaluated", "met", "sustained", "closed", "claimed", "validated"])
    for r in report["by_hub"]:
        writer.writerow(["hub", r["hub"], r["enrolled"], "", "", "", r["closed"], r["claimed"], r["validated"]])
    for r in report["by_need"]:
        writer.writerow(["need", r["need"], r["enrolled"], r["evaluated"], r["met"], r["sustained"], "", "", ""])
    for r in report["by_month"]:
        writer.writerow(["month", r["month"], r["enrolled"], "", "", "", "", r["claimed"], r["validated"]])
    return out.getvalue()


class ReportsService:
    def __init__(self, repo: ReportsRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def cohort_report(self) -> dict[str, Any]:
        """Counts only: no names, identifiers or family ids."""
        data = await self.repo.cohort_report(self.settings.programme_phase)
        by_hub = [dict(r._mapping) for r in data["by_hub"]]
        enrolled = sum(r["enrolled"] for r in by_hub)
        claimed = sum(r["claimed"] for r in by_hub)
        return {
            "programme_phase": self.settings.programme_phase,
            "funding_model": self.settings.funding_model,
            "generated_at": datetime.now(UTC).isoformat(),
            "families_enrolled": enrolled,
            "families_claimed": claimed,
            "claim_rate": round(claimed / enrolled, 4) if enrolled else 0.0,
            "by_hub": by_hub,
            "by_need": [dict(r._mapping) for r in data["by_need"]],
            "by_month": [dict(r._mapping) for r in data["by_month"]],
        }
