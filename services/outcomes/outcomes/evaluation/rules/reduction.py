"""`reduction_vs_baseline`: fewer incidents after the start than before it.

For each measure (kind, percent): the baseline counts the family's incidents of that kind in the `months`
before the start date (from start - months inclusive to start exclusive); the outcome counts those in the
`months` from the start (start inclusive to start + months exclusive). Met when after <= baseline *
(1 - percent/100) for every measure — so a zero baseline needs zero after — and the after-window has ended
by the evaluation date (as_of >= start + months).
"""

from __future__ import annotations

from decimal import Decimal

from outcomes.evaluation.rules import RuleSQL
from outcomes.evaluation.rules.incidents import FAMILY_INCIDENTS
from outcomes.frameworks.schemas import ReductionVsBaselineParams

_CTES = (
    FAMILY_INCIDENTS.format(
        lower="(s.start_date - make_interval(months => :red_months))::date",
        upper="(s.start_date + make_interval(months => :red_months))::date - 1",
    )
    + """,
red_measures AS (
    SELECT * FROM unnest(CAST(:inc_kinds AS text[]), CAST(:red_percents AS numeric[])) AS m(kind, percent)
),
red_counts AS (
    SELECT s.enrolment_id, s.start_date, m.kind, m.percent,
           count(f.id) FILTER (WHERE f.occurred_on < s.start_date) AS baseline,
           count(f.id) FILTER (WHERE f.occurred_on >= s.start_date) AS after
    FROM scope s
    CROSS JOIN red_measures m
    LEFT JOIN fam_incidents f ON f.enrolment_id = s.enrolment_id AND f.kind = m.kind
    GROUP BY s.enrolment_id, s.start_date, m.kind, m.percent
),
red_evidence AS (
    SELECT enrolment_id, array_agg(id ORDER BY id) AS ids FROM fam_incidents GROUP BY enrolment_id
),
rule AS (
    SELECT c.enrolment_id,
           bool_and(c.after * 100 <= c.baseline * (100 - c.percent))
               AND CAST(:as_of AS date) >= (min(c.start_date) + make_interval(months => :red_months))::date AS met,
           CASE
               WHEN CAST(:as_of AS date) < (min(c.start_date) + make_interval(months => :red_months))::date
                   THEN 'the ' || :red_months || ' months after the start end on '
                        || to_char((min(c.start_date) + make_interval(months => :red_months))::date, 'YYYY-MM-DD')
                        || '; ' || string_agg(c.kind || ' ' || c.baseline || ' before, ' || c.after || ' so far',
                                              '; ' ORDER BY c.kind)
               ELSE string_agg(
                   c.kind || ' ' || c.baseline || ' before, ' || c.after || ' after (at most '
                   || floor(c.baseline * (100 - c.percent) / 100) || ' allowed, a ' || c.percent || '% reduction)',
                   '; ' ORDER BY c.kind)
           END AS reason,
           coalesce(min(e.ids), '{}') AS evidence_ids
    FROM red_counts c
    LEFT JOIN red_evidence e ON e.enrolment_id = c.enrolment_id
    GROUP BY c.enrolment_id
)
"""
)


def rule_sql(params: ReductionVsBaselineParams) -> RuleSQL:
    return RuleSQL(
        ctes=_CTES,
        params={
            "inc_kinds": [m.kind for m in params.measures],
            "red_percents": [Decimal(str(m.percent)) for m in params.measures],
            "red_months": params.months,
        },
        evidence_source="incidents",
    )
