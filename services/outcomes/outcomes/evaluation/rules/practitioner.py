"""`practitioner_assessed`: the latest recorded judgement since the start says the need is met.

The judgement must be dated between the start date and the evaluation date; when the framework requires
evidence, a judgement without evidence text does not count. Claims resting on it are always audited.
"""

from __future__ import annotations

from outcomes.evaluation.rules import RuleSQL
from outcomes.frameworks.schemas import PractitionerAssessedParams

_CTES = """
pa_latest AS (
    SELECT DISTINCT ON (s.enrolment_id) s.enrolment_id, pa.id, pa.met, pa.evidence, pa.assessed_on
    FROM scope s
    JOIN practitioner_assessments pa
      ON pa.family_id = s.family_id AND pa.need = :need
     AND pa.assessed_on BETWEEN s.start_date AND CAST(:as_of AS date)
    ORDER BY s.enrolment_id, pa.assessed_on DESC, pa.id DESC
),
rule AS (
    SELECT s.enrolment_id,
           coalesce(l.met AND (NOT :pa_evidence_required OR length(btrim(l.evidence)) > 0), false) AS met,
           CASE
               WHEN l.enrolment_id IS NULL THEN 'no practitioner judgement recorded since the start'
               WHEN NOT l.met THEN 'practitioner judged not met on ' || to_char(l.assessed_on, 'YYYY-MM-DD')
               WHEN :pa_evidence_required AND length(btrim(l.evidence)) = 0
                   THEN 'judged met on ' || to_char(l.assessed_on, 'YYYY-MM-DD') || ' but without the required evidence'
               ELSE 'practitioner judged met on ' || to_char(l.assessed_on, 'YYYY-MM-DD') || ' with evidence'
           END AS reason,
           CASE WHEN l.id IS NULL THEN CAST('{}' AS bigint[]) ELSE ARRAY[l.id] END AS evidence_ids
    FROM scope s
    LEFT JOIN pa_latest l ON l.enrolment_id = s.enrolment_id
)
"""


def rule_sql(params: PractitionerAssessedParams) -> RuleSQL:
    return RuleSQL(
        ctes=_CTES,
        params={"pa_evidence_required": params.evidence_required},
        evidence_source="practitioner_assessments",
        always_audited=True,
    )
