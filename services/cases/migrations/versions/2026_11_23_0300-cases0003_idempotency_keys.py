"""Idempotency-Key on the cases service's creates (shared.idempotency)

Revision ID: cases0003
Revises: cases0002
Create Date: 2026-11-23 03:00:00
"""

from collections.abc import Sequence

from shared.migration_ops import create_idempotency_keys_v1, drop_idempotency_keys_v1

revision: str = "cases0003"
down_revision: str | None = "cases0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_keys_v1()


def downgrade() -> None:
    drop_idempotency_keys_v1()
