"""The rule kinds, one module each. Every rule is set-based SQL over the whole scope of enrolments.

A rule module offers `rule_sql(params) -> RuleSQL`: common table expressions that read the `scope` CTE
(`enrolment_id, family_id, start_date, closed_on` of the enrolments being evaluated for one need, with the
bind parameters `:as_of`, `:need` and `:family_id`) and end with a CTE named `rule` giving, for every enrolment
in scope, `enrolment_id, met, reason, evidence_ids`. The evaluator wraps it in one INSERT … SELECT per need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RuleSQL:
    ctes: str
    params: dict[str, Any] = field(default_factory=dict)
    evidence_source: str | None = None
    """The table that `evidence_ids` point into."""
    always_audited: bool = False
