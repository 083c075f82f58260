"""Retention: tombstones, legal holds and audit-log checkpoints; the audit log lets checkpointed rows be pruned

Revision ID: outcomes0009
Revises: outcomes0008
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

from shared.retention.migration import create_retention_tables_v1, drop_retention_tables_v1

revision: str = "outcomes0009"
down_revision: str | None = "outcomes0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_retention_tables_v1()


def downgrade() -> None:
    drop_retention_tables_v1()
