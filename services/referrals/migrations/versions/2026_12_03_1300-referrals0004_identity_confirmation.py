"""identity confirmation at triage: a referred person's match is confirmed, or declared a new person

Revision ID: referrals0004
Revises: referrals0005
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals0004"
down_revision: str | None = "referrals0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "match_status IN ('pending', 'matched', 'candidates', 'no_match')"
NEW = "match_status IN ('pending', 'matched', 'candidates', 'no_match', 'confirmed', 'new_person')"


def upgrade() -> None:
    op.add_column("referral_people", sa.Column("identity_confirmed_by", sa.Text(), nullable=True))
    op.add_column("referral_people", sa.Column("identity_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("referral_people", sa.Column("identity_reason", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_referral_people_match_status"), "referral_people", type_="check")
    op.create_check_constraint(op.f("ck_referral_people_match_status"), "referral_people", NEW)


def downgrade() -> None:
    op.execute(
        "UPDATE referral_people SET match_status = CASE WHEN matched_person_id IS NULL THEN 'no_match' "
        "ELSE 'matched' END WHERE match_status IN ('confirmed', 'new_person')"
    )
    op.drop_constraint(op.f("ck_referral_people_match_status"), "referral_people", type_="check")
    op.create_check_constraint(op.f("ck_referral_people_match_status"), "referral_people", OLD)
    op.drop_column("referral_people", "identity_reason")
    op.drop_column("referral_people", "identity_confirmed_at")
    op.drop_column("referral_people", "identity_confirmed_by")
