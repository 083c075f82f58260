"""Idempotency-Key on the outcomes service's creates (shared.idempotency)

Revision ID: outcomes0004
Revises: outcomes0003
Create Date: 2026-11-23 04:10:00
"""

from collections.abc import Sequence

from shared.migration_ops import create_idempotency_keys_v1, drop_idempotency_keys_v1

revision: str = "outcomes0004"
down_revision: str | None = "outcomes0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_keys_v1()


def downgrade() -> None:
    drop_idempotency_keys_v1()
