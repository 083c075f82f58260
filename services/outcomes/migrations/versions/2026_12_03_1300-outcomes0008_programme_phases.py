"""programme phases as data (dates and funding model); claims record their funding model

Revision ID: outcomes0008
Revises: outcomes0007
Create Date: 2026-12-03 13:00:00

A phase was fixed text in the settings (`2022-2025`); it is now a row with start and end dates, the current one
found from today's date (the setting still applies while no defined phase holds today). Each phase carries its
funding model: `payment_by_results`, or `earned_autonomy`, under which a claim is a record of outcome evidence
that goes through the same local audit. Claims made before this revision were payment-by-results claims.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outcomes0008"
down_revision: str | None = "outcomes0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_phases",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("funding_model", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_programme_phases_dates")),
        sa.CheckConstraint(
            "funding_model IN ('payment_by_results', 'earned_autonomy')", name=op.f("ck_programme_phases_funding_model")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_programme_phases")),
    )
    op.add_column(
        "claims", sa.Column("funding_model", sa.Text(), server_default="payment_by_results", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("claims", "funding_model")
    op.drop_table("programme_phases")
