"""family merges (with their undo) and the `merged` outcome of a case closed by one

Revision ID: cases0005
Revises: cases0003
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "cases0005"
down_revision: str | None = "cases0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = "'needs_met', 'stepped_up', 'stepped_down', 'moved_away', 'disengaged', 'other'"


def upgrade() -> None:
    op.create_table(
        "family_merges",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("survivor_id", sa.UUID(), nullable=False),
        sa.Column("merged_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_by", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("moved", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.Text(), nullable=True),
        sa.Column("undo_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("survivor_id <> merged_id", name=op.f("ck_family_merges_distinct_families")),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["families.id"], name=op.f("fk_family_merges_merged_id_families")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"], ["families.id"], name=op.f("fk_family_merges_survivor_id_families")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_merges")),
    )
    op.create_index(op.f("ix_family_merges_survivor_id"), "family_merges", ["survivor_id"], unique=False)
    op.create_index(
        "uq_family_merges_one_live",
        "family_merges",
        ["merged_id"],
        unique=True,
        postgresql_where=sa.text("undone_at IS NULL"),
    )
    op.drop_constraint(op.f("ck_cases_outcome"), "cases", type_="check")
    op.create_check_constraint(
        op.f("ck_cases_outcome"), "cases", f"outcome IS NULL OR outcome IN ({OUTCOMES}, 'merged')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_cases_outcome"), "cases", type_="check")
    op.execute("UPDATE cases SET outcome = 'other' WHERE outcome = 'merged'")
    op.create_check_constraint(op.f("ck_cases_outcome"), "cases", f"outcome IS NULL OR outcome IN ({OUTCOMES})")
    op.drop_index("uq_family_merges_one_live", table_name="family_merges", postgresql_where=sa.text("undone_at IS NULL"))
    op.drop_index(op.f("ix_family_merges_survivor_id"), table_name="family_merges")
    op.drop_table("family_merges")
