"""descriptor codes: every stored framework version's descriptors become `{code, label}`

Revision ID: outcomes_consistency01
Revises: outcomes0009
Create Date: 2026-12-03 15:40:00

An assessment named a descriptor by its exact English sentence; it now names it by a stable code, the sentence
being its label. Each descriptor stored as a bare sentence becomes `{"code": …, "label": sentence}`: the built-in
frameworks' sentences get the codes their files now carry, any other sentence (a council's framework) the code
`shared.contracts.descriptor_code` gives (its words in lower case joined by `_`). ETags are recomputed. Downgrade
turns them back into sentences.
"""

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "outcomes_consistency01"
down_revision: str | None = "outcomes0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUILT_IN_CODES = {
    "Persistent absence (10% or more of sessions missed)": "persistent_absence",
    "Suspensions or permanent exclusion": "suspension_or_exclusion",
    "Child not meeting developmental milestones": "developmental_milestones",
    "Parental support needed for early learning": "early_learning_support",
    "Adult or child with mental health needs": "mental_health",
    "Physical health affecting daily life": "physical_health",
    "Drug or alcohol misuse by an adult or young person": "substance_misuse",
    "Parental conflict": "parental_conflict",
    "Child-parent violence": "child_parent_violence",
    "Child at risk of exploitation": "exploitation_risk",
    "Child missing from home": "missing_from_home",
    "Offending by an adult or child": "offending",
    "Anti-social behaviour": "anti_social_behaviour",
    "Domestic abuse incidents in the household": "domestic_abuse_incidents",
    "Homeless or at risk of homelessness": "homelessness_risk",
    "Rent arrears threatening tenancy": "rent_arrears",
    "Worklessness": "worklessness",
    "Problem debt": "problem_debt",
    "Children needing help to reach their potential": "help_to_reach_potential",
    "Poor school attendance": "poor_attendance",
    "Suspensions or exclusion": "suspension_or_exclusion",
    "Offending": "offending",
    "Domestic abuse": "domestic_abuse",
    "Homelessness or risk of homelessness": "homelessness_risk",
    "Financial difficulty": "financial_difficulty",
    "Young person not in education, employment or training (NEET)": "neet",
    "Physical or mental health needs": "health_needs",
}
"""The codes the built-in framework files give their sentences (copied: a migration does not import the code it
outlives)."""


def _etag(document: dict[str, Any]) -> str:
    """As `outcomes.frameworks.service.etag_of`."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _code(label: str) -> str:
    """As `shared.contracts.descriptor_code`, for sentences the built-in files do not hold."""
    if label in BUILT_IN_CODES:
        return BUILT_IN_CODES[label]
    code = "_".join(re.findall(r"[a-z0-9]+", label.lower()))[:64].rstrip("_")
    return code if code[:1].isalpha() else ("d_" + code)[:64].rstrip("_")


def _coded(descriptor: Any) -> Any:
    return {"code": _code(descriptor), "label": descriptor} if isinstance(descriptor, str) else descriptor


def _sentence(descriptor: Any) -> Any:
    return descriptor.get("label") if isinstance(descriptor, dict) else descriptor


def _rewrite(change: Callable[[Any], Any]) -> None:
    bind = op.get_bind()
    for row_id, definition in bind.execute(sa.text("SELECT id, definition FROM frameworks")).all():
        document = definition if isinstance(definition, dict) else json.loads(definition)
        before = json.dumps(document, sort_keys=True)
        for need in document.get("needs", []):
            need["descriptors"] = [change(d) for d in need.get("descriptors") or []]
        if json.dumps(document, sort_keys=True) != before:
            bind.execute(
                sa.text("UPDATE frameworks SET definition = CAST(:d AS jsonb), etag = :e WHERE id = :id"),
                {"d": json.dumps(document), "e": _etag(document), "id": row_id},
            )


def upgrade() -> None:
    _rewrite(_coded)


def downgrade() -> None:
    _rewrite(_sentence)
