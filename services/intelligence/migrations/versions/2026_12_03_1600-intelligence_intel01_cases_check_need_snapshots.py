"""identified families checked against the cases person index; need snapshots per linkage run

Revision ID: intelligence_intel01
Revises: intelligence0002
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intelligence_intel01"
down_revision: str | None = "intelligence0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "identified_families", sa.Column("cases_check", sa.Text(), server_default="unchecked", nullable=False)
    )
    op.add_column("identified_families", sa.Column("cases_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_identified_families_status"),
        "identified_families",
        "status IN ('identified', 'statutory', 'open_case', 'referred', 'not_now', 'dismissed')",
    )
    op.create_check_constraint(
        op.f("ck_identified_families_cases_check"),
        "identified_families",
        "cases_check IN ('unchecked', 'open_case', 'case_closed', 'known_no_case', 'not_known')",
    )
    op.create_check_constraint(
        op.f("ck_identified_families_cases_checked_at"),
        "identified_families",
        "(cases_check = 'unchecked') = (cases_checked_at IS NULL)",
    )
    op.create_table(
        "need_snapshots",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("framework", sa.Text(), nullable=False),
        sa.Column("hub", sa.Text(), nullable=False),
        sa.Column("postcode_district", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("statutory", sa.Boolean(), nullable=False),
        sa.Column("families", sa.Integer(), nullable=False),
        sa.CheckConstraint("families > 0", name=op.f("ck_need_snapshots_families_positive")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["linkage_runs.id"], name=op.f("fk_need_snapshots_run_id_linkage_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_snapshots")),
        sa.UniqueConstraint(
            "run_id", "hub", "postcode_district", "needs", "statutory", name=op.f("uq_need_snapshots_cell")
        ),
    )
    op.create_index("ix_need_snapshots_as_of", "need_snapshots", ["as_of"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_need_snapshots_as_of", table_name="need_snapshots")
    op.drop_table("need_snapshots")
    op.drop_constraint(op.f("ck_identified_families_cases_checked_at"), "identified_families", type_="check")
    op.drop_constraint(op.f("ck_identified_families_cases_check"), "identified_families", type_="check")
    op.drop_constraint(op.f("ck_identified_families_status"), "identified_families", type_="check")
    op.drop_column("identified_families", "cases_checked_at")
    op.drop_column("identified_families", "cases_check")
