"""Platform tables: audit log, outbox, subscriptions, inbox, idempotency keys

Revision ID: intelligence0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from shared.migration_ops import (
    create_idempotency_keys_v1,
    create_platform_tables_v1,
    drop_idempotency_keys_v1,
    drop_platform_tables_v1,
)

revision: str = "intelligence0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables_v1()
    create_idempotency_keys_v1()


def downgrade() -> None:
    drop_idempotency_keys_v1()
    drop_platform_tables_v1()
