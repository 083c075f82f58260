"""identified families: indexes in the list's exact order (most needs, newest evidence, then id)

The list orders by `need_count DESC, coalesce(latest_evidence, '-infinity'::date) DESC, id`; the old
`(hub, need_count, latest_evidence)` index matched neither the expression nor the directions, so every page was a
scan and sort of every family. One index for the whole list and one within a hub replace it.

Revision ID: intelligence_paging01
Revises: intelligence_intel01
Create Date: 2026-12-03 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intelligence_paging01"
down_revision: str | None = "intelligence_intel01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK = [sa.text("need_count DESC"), sa.text("coalesce(latest_evidence, '-infinity'::date) DESC"), sa.text("id")]


def upgrade() -> None:
    op.drop_index("ix_identified_families_hub_rank", table_name="identified_families")
    op.create_index("ix_identified_families_rank", "identified_families", RANK)
    op.create_index("ix_identified_families_hub_rank", "identified_families", [sa.text("hub"), *RANK])


def downgrade() -> None:
    op.drop_index("ix_identified_families_hub_rank", table_name="identified_families")
    op.drop_index("ix_identified_families_rank", table_name="identified_families")
    op.create_index(
        "ix_identified_families_hub_rank", "identified_families", ["hub", "need_count", "latest_evidence"]
    )
