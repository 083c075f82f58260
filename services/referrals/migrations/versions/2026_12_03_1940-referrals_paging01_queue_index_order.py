"""referrals: the triage queue index in the queue's order (safeguarding_concern DESC, received_at, id)

The queue orders safeguarding concerns first (DESC) then oldest first; the index was all ascending, so neither
its forward nor its backward scan gave the order and every page sorted the referrals.

Revision ID: referrals_paging01
Revises: referrals_matching01
Create Date: 2026-12-03 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_paging01"
down_revision: str | None = "referrals_matching01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_referrals_queue", table_name="referrals")
    op.create_index(
        "ix_referrals_queue", "referrals", [sa.text("safeguarding_concern DESC"), sa.text("received_at"), sa.text("id")]
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_queue", table_name="referrals")
    op.create_index("ix_referrals_queue", "referrals", ["safeguarding_concern", "received_at", "id"])
