"""The cohort report's queries: counts by hub, need and month (no names, identifiers or family ids)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text

from outcomes.repository import Repository

# Each section of the cohort report, over the enrolments of one programme phase (`:phase`).
_SECTIONS = {
    "by_hub": text(
        """
        SELECT coalesce(e.hub, 'unknown') AS hub, count(*) AS enrolled,
               count(*) FILTER (WHERE e.closed_on IS NOT NULL) AS closed,
               count(c.id) AS claimed,
               count(c.id) FILTER (WHERE c.status = 'validated') AS validated
        FROM enrolments e
        LEFT JOIN claims c ON c.enrolment_id = e.id AND c.status <> 'rejected'
        WHERE e.programme_phase = :phase
        GROUP BY 1 ORDER BY 1
        """
    ),
    "by_need": text(
        """
        SELECT n.need, count(*) AS enrolled,
               count(r.need) AS evaluated,
               count(*) FILTER (WHERE r.met) AS met,
               count(*) FILTER (WHERE r.sustained) AS sustained
        FROM enrolments e
        CROSS JOIN LATERAL unnest(e.needs) AS n(need)
        LEFT JOIN need_results r ON r.enrolment_id = e.id AND r.need = n.need
        WHERE e.programme_phase = :phase
        GROUP BY 1 ORDER BY 1
        """
    ),
    "by_month": text(
        """
        SELECT to_char(date_trunc('month', e.start_date), 'YYYY-MM') AS month, count(*) AS enrolled,
               count(c.id) AS claimed,
               count(c.id) FILTER (WHERE c.status = 'validated') AS validated
        FROM enrolments e
        LEFT JOIN claims c ON c.enrolment_id = e.id AND c.status <> 'rejected'
        WHERE e.programme_phase = :phase
        GROUP BY 1 ORDER BY 1
        """
    ),
}


class ReportsRepository(Repository):
    async def cohort_report(self, phase: str) -> dict[str, list[Row[Any]]]:
        return {
            section: list((await self.session.execute(query, {"phase": phase})).all())
            for section, query in _SECTIONS.items()
        }
