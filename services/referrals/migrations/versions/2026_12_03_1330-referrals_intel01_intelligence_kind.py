"""Referrals of kind intelligence: families identified from partner data and referred by a hub manager

Revision ID: referrals_intel01
Revises: referrals0004
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "referrals_intel01"
down_revision: str | None = "referrals0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_referrals_kind"), "referrals", type_="check")
    op.create_check_constraint(op.f("ck_referrals_kind"), "referrals", "kind IN ('maternity', 'school', 'intelligence')")


def downgrade() -> None:
    op.execute("DELETE FROM referrals WHERE kind = 'intelligence'")
    op.drop_constraint(op.f("ck_referrals_kind"), "referrals", type_="check")
    op.create_check_constraint(op.f("ck_referrals_kind"), "referrals", "kind IN ('maternity', 'school')")
