"""Matching after intake: the trace a referral was received in, continued by the matching worker

Revision ID: referrals_matching01
Revises: referrals_partners01
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_matching01"
down_revision: str | None = "referrals_partners01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("referrals", sa.Column("matching_traceparent", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("referrals", "matching_traceparent")
