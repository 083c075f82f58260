"""Incidents counted for a family: those of its enrolled people, and those recorded against the family itself."""

from __future__ import annotations

FAMILY_INCIDENTS = """
fam_incidents AS (
    SELECT s.enrolment_id, s.start_date, i.id, i.kind, i.occurred_on
    FROM scope s
    JOIN enrolment_members m ON m.enrolment_id = s.enrolment_id
    JOIN incidents i ON i.person_id = m.person_id
    WHERE i.kind = ANY(CAST(:inc_kinds AS text[]))
      AND i.occurred_on BETWEEN {lower} AND {upper}
    UNION
    SELECT s.enrolment_id, s.start_date, i.id, i.kind, i.occurred_on
    FROM scope s
    JOIN incidents i ON i.family_id = s.family_id
    WHERE i.kind = ANY(CAST(:inc_kinds AS text[]))
      AND i.occurred_on BETWEEN {lower} AND {upper}
)"""
