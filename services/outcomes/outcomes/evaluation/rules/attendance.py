"""`attendance_threshold`: every school-age child attends at least `min_percent` of possible sessions.

Semantics, for each child aged 5 to 15 on the evaluation date (role `child` or `young_person`):
* take the child's last `terms` attendance records (by term start) whose term ended on or before the date;
* fewer than `terms` records, or a gap between two of them longer than `MAX_HOLIDAY_DAYS` (a missing term),
  is not met with the reason "missing data";
* a permanent exclusion in those terms is not met; `suspensions_fewer_than` or more suspensions in them is not met (the
  parameter is the first number of suspensions that fails: 3 allows 0, 1 or 2);
* otherwise attended ÷ possible over those terms (summed) must be ≥ `min_percent` — exactly 90.0% meets 90.
The family meets the need when every school-age child does; a family with no school-age child does not.
"""

from __future__ import annotations

from decimal import Decimal

from outcomes.evaluation.rules import RuleSQL
from outcomes.frameworks.schemas import AttendanceThresholdParams

MAX_HOLIDAY_DAYS = 70
"""The longest break between consecutive terms (the summer holiday is about six weeks)."""

_CTES = """
kids AS (
    SELECT s.enrolment_id, m.person_id
    FROM scope s
    JOIN enrolment_members m ON m.enrolment_id = s.enrolment_id
    JOIN people p ON p.id = m.person_id
    WHERE m.role IN ('child', 'young_person')
      AND p.date_of_birth <= (CAST(:as_of AS date) - interval '5 years')
      AND p.date_of_birth > (CAST(:as_of AS date) - interval '16 years')
),
att_terms AS (
    SELECT k.enrolment_id, k.person_id, a.id, a.term_start, a.possible_sessions, a.attended_sessions,
           a.suspensions, a.permanently_excluded,
           row_number() OVER w AS rn,
           lead(a.term_end) OVER w AS older_end
    FROM kids k
    JOIN attendance_records a ON a.person_id = k.person_id AND a.term_end <= CAST(:as_of AS date)
    WINDOW w AS (PARTITION BY k.enrolment_id, k.person_id ORDER BY a.term_start DESC)
),
att_recent AS (
    SELECT * FROM att_terms WHERE rn <= :att_terms
),
att_child AS (
    SELECT k.enrolment_id, k.person_id,
           count(r.id) AS n,
           coalesce(sum(r.possible_sessions), 0) AS possible,
           coalesce(sum(r.attended_sessions), 0) AS attended,
           coalesce(sum(r.suspensions), 0) AS suspensions,
           coalesce(bool_or(r.permanently_excluded), false) AS excluded,
           coalesce(bool_or(r.rn < :att_terms AND r.term_start - r.older_end > :att_max_gap), false) AS gap
    FROM kids k
    LEFT JOIN att_recent r ON r.enrolment_id = k.enrolment_id AND r.person_id = k.person_id
    GROUP BY k.enrolment_id, k.person_id
),
att_verdict AS (
    SELECT enrolment_id, person_id,
           CASE
               WHEN n < :att_terms OR gap OR possible = 0 THEN 'missing data'
               WHEN excluded THEN 'permanently excluded'
               WHEN suspensions >= :att_suspensions_fewer_than
                   THEN suspensions || ' suspensions (fewer than ' || :att_suspensions_fewer_than || ' required)'
               WHEN attended * 100 < CAST(:att_min_percent AS numeric) * possible
                   THEN 'attendance ' || round(attended * 100.0 / possible, 1) || '% is below '
                        || CAST(:att_min_percent AS numeric) || '%'
           END AS failure
    FROM att_child
),
att_evidence AS (
    SELECT enrolment_id, array_agg(id ORDER BY id) AS ids FROM att_recent GROUP BY enrolment_id
),
rule AS (
    SELECT s.enrolment_id,
           count(v.person_id) > 0 AND count(v.failure) = 0 AS met,
           CASE
               WHEN count(v.person_id) = 0 THEN 'no school-age child in the family'
               WHEN count(v.failure) = 0
                   THEN 'all ' || count(v.person_id) || ' school-age children attended at least '
                        || CAST(:att_min_percent AS numeric) || '% over the last ' || :att_terms || ' terms'
               ELSE 'not met for ' || count(v.failure) || ' of ' || count(v.person_id)
                    || ' school-age children: ' || string_agg(DISTINCT v.failure, '; ')
           END AS reason,
           coalesce(min(e.ids), '{}') AS evidence_ids
    FROM scope s
    LEFT JOIN att_verdict v ON v.enrolment_id = s.enrolment_id
    LEFT JOIN att_evidence e ON e.enrolment_id = s.enrolment_id
    GROUP BY s.enrolment_id
)
"""


def rule_sql(params: AttendanceThresholdParams) -> RuleSQL:
    return RuleSQL(
        ctes=_CTES,
        params={
            "att_terms": params.terms,
            "att_max_gap": MAX_HOLIDAY_DAYS,
            "att_suspensions_fewer_than": params.suspensions_fewer_than,
            "att_min_percent": Decimal(str(params.min_percent)),
        },
        evidence_source="attendance_records",
    )
