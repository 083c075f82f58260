"""Every referral records a lawful basis, consistent with its consent

Referrals stored without one get the basis intake now derives: consent where the family consented, public task
otherwise. A consent basis without consent given is not possible any more.

Revision ID: referrals0005
Revises: referrals0002
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "referrals0005"
down_revision: str | None = "referrals0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASES = "'consent', 'public_task', 'legal_obligation', 'vital_interests', 'legitimate_interests'"


def upgrade() -> None:
    op.execute(
        "UPDATE referrals SET lawful_basis = CASE WHEN consent_given THEN 'consent' ELSE 'public_task' END "
        "WHERE lawful_basis IS NULL OR (lawful_basis = 'consent' AND NOT consent_given)"
    )
    op.alter_column("referrals", "lawful_basis", nullable=False)
    op.create_check_constraint(op.f("ck_referrals_lawful_basis"), "referrals", f"lawful_basis IN ({BASES})")
    op.create_check_constraint(
        op.f("ck_referrals_consent_basis_needs_consent"), "referrals", "lawful_basis <> 'consent' OR consent_given"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_referrals_consent_basis_needs_consent"), "referrals", type_="check")
    op.drop_constraint(op.f("ck_referrals_lawful_basis"), "referrals", type_="check")
    op.alter_column("referrals", "lawful_basis", nullable=True)
