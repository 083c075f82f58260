"""`no_incidents_in_window`: no incident of a kind in the last `months` months.

The window is (as_of - months, as_of]: an incident exactly `months` months before the evaluation date falls
outside it (the family has had the full months clear); one a day later falls inside. The reason does not name
the window's dates (the result's `as_of` does), so a family that stays clear keeps one stored result rather
than a new one every day.
"""

from __future__ import annotations

from outcomes.evaluation.rules import RuleSQL
from outcomes.evaluation.rules.incidents import FAMILY_INCIDENTS
from outcomes.frameworks.schemas import NoIncidentsInWindowParams

_CTES = (
    FAMILY_INCIDENTS.format(
        lower="(CAST(:as_of AS date) - make_interval(months => :win_months))::date + 1",
        upper="CAST(:as_of AS date)",
    )
    + """,
rule AS (
    SELECT s.enrolment_id,
           count(f.id) = 0 AS met,
           CASE
               WHEN count(f.id) = 0
                   THEN 'no ' || :win_kind || ' in the last ' || :win_months || ' months'
               ELSE count(f.id) || ' ' || :win_kind || ' in the last ' || :win_months || ' months (latest '
                    || to_char(max(f.occurred_on), 'YYYY-MM-DD') || ')'
           END AS reason,
           coalesce(array_agg(f.id ORDER BY f.id) FILTER (WHERE f.id IS NOT NULL), '{}') AS evidence_ids
    FROM scope s
    LEFT JOIN fam_incidents f ON f.enrolment_id = s.enrolment_id
    GROUP BY s.enrolment_id
)
"""
)


def rule_sql(params: NoIncidentsInWindowParams) -> RuleSQL:
    return RuleSQL(
        ctes=_CTES,
        params={"inc_kinds": [params.kind], "win_kind": params.kind, "win_months": params.months},
        evidence_source="incidents",
    )
