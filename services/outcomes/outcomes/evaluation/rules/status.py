"""`continuous_status` and `any_continuous_status`: someone in the family held a status without a break for
`weeks` weeks (`any_continuous_status`: any one of several measures, each a kind, its statuses and who holds it;
spells of different kinds never join).

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
from outcomes.frameworks.schemas import AnyContinuousStatusParams, ContinuousStatusParams

ROLES = {
    "adult": ["parent_carer", "other_adult"],
    "young_person": ["young_person"],
    "any": ["parent_carer", "other_adult", "young_person", "child"],
}

_CTES = """
st_measures AS (
    SELECT * FROM unnest(CAST(:st_m_kinds AS text[]), CAST(:st_m_statuses AS text[]), CAST(:st_m_roles AS text[]))
        AS ms(kind, status, role)
),
st_periods AS (
    SELECT s.enrolment_id, sp.person_id, sp.kind, sp.id, sp.period_start,
           LEAST(coalesce(sp.period_end, CAST(:as_of AS date)), CAST(:as_of AS date)) AS period_end
    FROM scope s
    JOIN enrolment_members m ON m.enrolment_id = s.enrolment_id AND m.role = ANY(CAST(:st_roles AS text[]))
    JOIN status_periods sp ON sp.person_id = m.person_id
    WHERE sp.kind = ANY(CAST(:st_kinds AS text[])) AND sp.status = ANY(CAST(:st_statuses AS text[]))
      AND sp.period_start <= CAST(:as_of AS date)
      AND EXISTS (SELECT 1 FROM st_measures ms WHERE ms.kind = sp.kind AND ms.status = sp.status AND ms.role = m.role)
),
st_marked AS (
    SELECT *,
           CASE WHEN period_start <= max(period_end) OVER (
                    PARTITION BY enrolment_id, person_id, kind ORDER BY period_start, id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1
                THEN 0 ELSE 1 END AS starts_spell
    FROM st_periods
),
st_numbered AS (
    SELECT *, sum(starts_spell) OVER (PARTITION BY enrolment_id, person_id, kind ORDER BY period_start, id) AS spell
    FROM st_marked
),
st_spells AS (
    SELECT enrolment_id, person_id, kind, spell, min(period_start) AS spell_start, max(period_end) AS spell_end,
           array_agg(id ORDER BY id) AS ids
    FROM st_numbered
    GROUP BY enrolment_id, person_id, kind, spell
),
st_best AS (
    SELECT DISTINCT ON (sp.enrolment_id) sp.enrolment_id, sp.kind, sp.spell_start, sp.spell_end,
           sp.spell_end - sp.spell_start + 1 AS days, sp.ids
    FROM st_spells sp JOIN scope sc ON sc.enrolment_id = sp.enrolment_id
    WHERE NOT CAST(:st_since_start AS boolean) OR sp.spell_start >= sc.start_date
    ORDER BY sp.enrolment_id, sp.spell_end - sp.spell_start + 1 DESC, sp.spell_end DESC, sp.kind
),
rule AS (
    SELECT s.enrolment_id,
           coalesce(b.days >= :st_weeks * 7, false) AS met,
           CASE
               WHEN b.enrolment_id IS NULL THEN 'no ' || :st_kind_list || ' period with status ' || :st_status_list
                                                || CASE WHEN CAST(:st_since_start AS boolean)
                                                        THEN ' begun on or after the start' ELSE '' END
               WHEN b.days >= :st_weeks * 7 AND b.spell_end = CAST(:as_of AS date)
                   THEN 'continuous ' || b.kind || ' since ' || to_char(b.spell_start, 'YYYY-MM-DD')
                        || ', ongoing at the evaluation date; ' || :st_weeks || ' weeks required'
               WHEN b.days >= :st_weeks * 7
                   THEN 'continuous ' || b.kind || ' for ' || (b.days / 7) || ' weeks ('
                        || to_char(b.spell_start, 'YYYY-MM-DD') || ' to ' || to_char(b.spell_end, 'YYYY-MM-DD')
                        || '); ' || :st_weeks || ' required'
               ELSE 'longest continuous ' || b.kind || ' spell ' || b.days || ' days ('
                    || to_char(b.spell_start, 'YYYY-MM-DD') || ' to ' || to_char(b.spell_end, 'YYYY-MM-DD')
                    || '); ' || :st_weeks || ' weeks required'
           END AS reason,
           coalesce(b.ids, '{}') AS evidence_ids
    FROM scope s
    LEFT JOIN st_best b ON b.enrolment_id = s.enrolment_id
)
"""


def rule_sql(params: ContinuousStatusParams | AnyContinuousStatusParams) -> RuleSQL:
    """One measure or several, flattened to (kind, status, role) triples."""
    triples = [(m.kind, status, role) for m in params.measures for status in m.statuses for role in ROLES[m.who]]
    kinds = list(dict.fromkeys(m.kind for m in params.measures))
    statuses = list(dict.fromkeys(status for m in params.measures for status in m.statuses))
    return RuleSQL(
        ctes=_CTES,
        params={
            "st_m_kinds": [t[0] for t in triples],
            "st_m_statuses": [t[1] for t in triples],
            "st_m_roles": [t[2] for t in triples],
            "st_kinds": kinds,
            "st_kind_list": kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1],
            "st_statuses": statuses,
            "st_status_list": ", ".join(statuses),
            "st_weeks": params.weeks,
            "st_roles": list(dict.fromkeys(t[2] for t in triples)),
            "st_since_start": params.since_start,
        },
        evidence_source="status_periods",
    )
