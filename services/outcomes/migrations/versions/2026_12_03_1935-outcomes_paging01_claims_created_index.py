"""claims: an index in the claims list's order (created_at, id)

Without it every page of the claims list scanned and sorted every claim.

Revision ID: outcomes_paging01
Revises: outcomes_consistency01
Create Date: 2026-12-03 19:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "outcomes_paging01"
down_revision: str | None = "outcomes_consistency01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claims_created", "claims", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_claims_created", table_name="claims")
