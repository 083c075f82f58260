"""Partner referrals (kinds partner and operation_encompass); the hub postcode mapping as data in the database,
seeded with the demo Leeds mapping that the package file held

Revision ID: referrals_partners01
Revises: referrals0006
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_partners01"
down_revision: str | None = "referrals0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('maternity', 'school', 'intelligence')"
KINDS_AFTER = "kind IN ('maternity', 'school', 'intelligence', 'partner', 'operation_encompass')"
LEEDS = {
    "north": ["LS6", "LS7", "LS8", "LS16", "LS17", "LS18", "LS19", "LS20", "LS21", "LS22", "LS23", "LS29"],
    "central": ["LS1", "LS2", "LS3", "LS4", "LS5", "LS9", "LS12", "LS13", "LS14", "LS28"],
    "south": ["LS10", "LS11", "LS15", "LS24", "LS25", "LS26", "LS27", "WF3"],
}


def upgrade() -> None:
    op.drop_constraint(op.f("ck_referrals_kind"), "referrals", type_="check")
    op.create_check_constraint(op.f("ck_referrals_kind"), "referrals", KINDS_AFTER)
    table = op.create_table(
        "hub_districts",
        sa.Column("district", sa.Text(), nullable=False),
        sa.Column("hub", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.CheckConstraint("district ~ '^[A-Z]{1,2}[0-9][0-9A-Z]?$'", name=op.f("ck_hub_districts_district")),
        sa.CheckConstraint("hub ~ '^[a-z][a-z0-9_-]{0,39}$'", name=op.f("ck_hub_districts_hub")),
        sa.PrimaryKeyConstraint("district", name=op.f("pk_hub_districts")),
    )
    rows = [{"district": d, "hub": hub, "updated_by": "migration"} for hub, ds in LEEDS.items() for d in ds]
    op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("hub_districts")
    op.execute("DELETE FROM referrals WHERE kind IN ('partner', 'operation_encompass')")
    op.drop_constraint(op.f("ck_referrals_kind"), "referrals", type_="check")
    op.create_check_constraint(op.f("ck_referrals_kind"), "referrals", KINDS_BEFORE)
