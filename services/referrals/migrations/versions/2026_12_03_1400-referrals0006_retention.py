"""Retention: tombstones, legal holds and audit-log checkpoints; the audit log lets checkpointed rows be pruned;
consent withdrawals

Revision ID: referrals0006
Revises: referrals_intel01
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.retention.migration import create_retention_tables_v1, drop_retention_tables_v1

revision: str = "referrals0006"
down_revision: str | None = "referrals_intel01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_retention_tables_v1()
    op.create_table(
        "consent_withdrawals",
        sa.Column("referral_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_by", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_consent_withdrawals_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_consent_withdrawals")),
    )


def downgrade() -> None:
    op.drop_table("consent_withdrawals")
    drop_retention_tables_v1()
