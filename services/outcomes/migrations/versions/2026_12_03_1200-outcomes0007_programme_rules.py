"""programme rules: active framework changes, expectant enrolments, financial status, suspensions_fewer_than

Revision ID: outcomes0007
Revises: outcomes0006
Create Date: 2026-12-03 12:00:00

* `active_framework_changes`: an administrator's change of the active framework from a date (the audit trail of
  the programme's set-up; the setting `OUTCOMES_ACTIVE_FRAMEWORK` applies before any change).
* `enrolments.expectant`: the family included an expectant parent, which counts as dependent children.
* `status_periods.kind` admits `financial` (financial stability, e.g. a debt repayment plan kept).
* The attendance rule's `max_suspensions` read as "up to" but meant "fewer than": every stored framework version
  gets `suspensions_fewer_than` instead (same value, same meaning), with its ETag recomputed.
* Enrolments stored eligible with fewer distinct needs of their framework version than it asks (written by the
  demo seeder before this revision) are corrected to not eligible. This correction is not undone on downgrade.
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "outcomes0007"
down_revision: str | None = "outcomes0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_KINDS = "kind IN ('employment', 'housing', 'neet', 'financial')"
OLD_STATUS_KINDS = "kind IN ('employment', 'housing', 'neet')"


def _etag(document: dict[str, Any]) -> str:
    """As `outcomes.frameworks.service.etag_of` (copied: a migration does not import the code it outlives)."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _rename_param(old: str, new: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, definition FROM frameworks")).all()
    for row_id, definition in rows:
        document = definition if isinstance(definition, dict) else json.loads(definition)
        changed = False
        for need in document.get("needs", []):
            rule = need.get("rule") or {}
            params = rule.get("params") or {}
            if rule.get("kind") == "attendance_threshold" and old in params:
                params[new] = params.pop(old)
                changed = True
        if changed:
            bind.execute(
                sa.text("UPDATE frameworks SET definition = CAST(:d AS jsonb), etag = :e WHERE id = :id"),
                {"d": json.dumps(document), "e": _etag(document), "id": row_id},
            )


def upgrade() -> None:
    op.create_table(
        "active_framework_changes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("framework_code", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_active_framework_changes")),
    )
    op.create_index(
        "ix_active_framework_changes_effective", "active_framework_changes", ["effective_from", "changed_at"]
    )
    op.add_column("enrolments", sa.Column("expectant", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.drop_constraint(op.f("ck_status_periods_kind"), "status_periods", type_="check")
    op.create_check_constraint(op.f("ck_status_periods_kind"), "status_periods", STATUS_KINDS)
    _rename_param("max_suspensions", "suspensions_fewer_than")
    op.execute(
        """
        UPDATE enrolments e SET eligible = false, updated_at = now()
        FROM frameworks f
        WHERE e.eligible AND f.code = e.framework_code AND f.version = e.framework_version
          AND (SELECT count(DISTINCT n) FROM unnest(e.needs) AS n
               WHERE n IN (SELECT x ->> 'code' FROM jsonb_array_elements(f.definition -> 'needs') AS x))
              < CAST(f.definition ->> 'min_needs' AS int)
        """
    )


def downgrade() -> None:
    _rename_param("suspensions_fewer_than", "max_suspensions")
    op.execute("DELETE FROM status_periods WHERE kind = 'financial'")
    op.drop_constraint(op.f("ck_status_periods_kind"), "status_periods", type_="check")
    op.create_check_constraint(op.f("ck_status_periods_kind"), "status_periods", OLD_STATUS_KINDS)
    op.drop_column("enrolments", "expectant")
    op.drop_index("ix_active_framework_changes_effective", table_name="active_framework_changes")
    op.drop_table("active_framework_changes")
