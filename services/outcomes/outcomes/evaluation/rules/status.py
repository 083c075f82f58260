"""`continuous_status`: someone in the family held a status without a break for `weeks` weeks.

Periods are inclusive of both ends; an open period runs to the evaluation date, and any period is cut at it.
Periods of the allowed statuses that overlap or follow on the next day join into one spell; a gap of even one
day breaks it. Met when some person of the chosen group (`adult`: parent_carer or other_adult;
`young_person`; `any`) has a spell of at least weeks * 7 days ending on or before the evaluation date (with
`since_start`, a spell begun on or after the family's start: a move into the status). A met
spell still running at the evaluation date is described by its start only, so its stored result does not
change every day while it lasts.
"""

from __future__ import annotations

from outcomes.evaluation.rules import RuleSQL
from outcomes.frameworks.schemas import ContinuousStatusParams

ROLES = {
    "adult": ["parent_carer", "other_adult"],
    "young_person": ["young_person"],
    "any": ["parent_carer", "other_adult", "young_person", "child"],
}

_CTES = """
st_periods AS (
    SELECT s.enrolment_id, sp.person_id, sp.id, sp.period_start,
           LEAST(coalesce(sp.period_end, CAST(:as_of AS date)), CAST(:as_of AS date)) AS period_end
    FROM scope s
    JOIN enrolment_members m ON m.enrolment_id = s.enrolment_id AND m.role = ANY(CAST(:st_roles AS text[]))
    JOIN status_periods sp ON sp.person_id = m.person_id
    WHERE sp.kind = :st_kind AND sp.status = ANY(CAST(:st_statuses AS text[]))
      AND sp.period_start <= CAST(:as_of AS date)
),
st_marked AS (
    SELECT *,
           CASE WHEN period_start <= max(period_end) OVER (
                    PARTITION BY enrolment_id, person_id ORDER BY period_start, id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1
                THEN 0 ELSE 1 END AS starts_spell
    FROM st_periods
),
st_numbered AS (
    SELECT *, sum(starts_spell) OVER (PARTITION BY enrolment_id, person_id ORDER BY period_start, id) AS spell
    FROM st_marked
),
st_spells AS (
    SELECT enrolment_id, person_id, spell, min(period_start) AS spell_start, max(period_end) AS spell_end,
           array_agg(id ORDER BY id) AS ids
    FROM st_numbered
    GROUP BY enrolment_id, person_id, spell
),
st_best AS (
    SELECT DISTINCT ON (sp.enrolment_id) sp.enrolment_id, sp.spell_start, sp.spell_end,
           sp.spell_end - sp.spell_start + 1 AS days, sp.ids
    FROM st_spells sp JOIN scope sc ON sc.enrolment_id = sp.enrolment_id
    WHERE NOT CAST(:st_since_start AS boolean) OR sp.spell_start >= sc.start_date
    ORDER BY sp.enrolment_id, sp.spell_end - sp.spell_start + 1 DESC, sp.spell_end DESC
),
rule AS (
    SELECT s.enrolment_id,
           coalesce(b.days >= :st_weeks * 7, false) AS met,
           CASE
               WHEN b.enrolment_id IS NULL THEN 'no ' || :st_kind || ' period with status ' || :st_status_list
                                                || CASE WHEN CAST(:st_since_start AS boolean)
                                                        THEN ' begun on or after the start' ELSE '' END
               WHEN b.days >= :st_weeks * 7 AND b.spell_end = CAST(:as_of AS date)
                   THEN 'continuous ' || :st_kind || ' since ' || to_char(b.spell_start, 'YYYY-MM-DD')
                        || ', ongoing at the evaluation date; ' || :st_weeks || ' weeks required'
               WHEN b.days >= :st_weeks * 7
                   THEN 'continuous ' || :st_kind || ' for ' || (b.days / 7) || ' weeks ('
                        || to_char(b.spell_start, 'YYYY-MM-DD') || ' to ' || to_char(b.spell_end, 'YYYY-MM-DD')
                        || '); ' || :st_weeks || ' required'
               ELSE 'longest continuous ' || :st_kind || ' spell ' || b.days || ' days ('
                    || to_char(b.spell_start, 'YYYY-MM-DD') || ' to ' || to_char(b.spell_end, 'YYYY-MM-DD')
                    || '); ' || :st_weeks || ' weeks required'
           END AS reason,
           coalesce(b.ids, '{}') AS evidence_ids
    FROM scope s
    LEFT JOIN st_best b ON b.enrolment_id = s.enrolment_id
)
"""


def rule_sql(params: ContinuousStatusParams) -> RuleSQL:
    return RuleSQL(
        ctes=_CTES,
        params={
            "st_kind": params.kind,
            "st_statuses": list(params.statuses),
            "st_status_list": ", ".join(params.statuses),
            "st_weeks": params.weeks,
            "st_roles": ROLES[params.who],
            "st_since_start": params.since_start,
        },
        evidence_source="status_periods",
    )
