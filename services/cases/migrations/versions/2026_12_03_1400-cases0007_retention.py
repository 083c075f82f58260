"""Retention: tombstones, legal holds and audit-log checkpoints; the audit log lets checkpointed rows be pruned;
erasures, rectifications and consent withdrawals

Revision ID: cases0007
Revises: cases0005
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.retention.migration import create_retention_tables_v1, drop_retention_tables_v1

revision: str = "cases0007"
down_revision: str | None = "cases0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_retention_tables_v1()
    uid = postgresql.UUID(as_uuid=True)
    now = sa.text("now()")
    op.create_table(
        "person_erasures",
        sa.Column("id", uid, nullable=False),
        sa.Column("person_id", uid, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("erased_by", sa.Text(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_person_erasures_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_erasures")),
    )
    op.create_index(op.f("ix_person_erasures_person_id"), "person_erasures", ["person_id"])
    op.create_table(
        "person_rectifications",
        sa.Column("id", uid, nullable=False),
        sa.Column("person_id", uid, nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rectified_by", sa.Text(), nullable=False),
        sa.Column("rectified_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_person_rectifications_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_rectifications")),
    )
    op.create_index(op.f("ix_person_rectifications_person_id"), "person_rectifications", ["person_id"])
    op.create_table(
        "consent_withdrawals",
        sa.Column("referral_id", uid, nullable=False),
        sa.Column("case_id", uid, nullable=True),
        sa.Column("family_id", uid, nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_consent_withdrawals")),
    )
    op.create_index(op.f("ix_consent_withdrawals_case_id"), "consent_withdrawals", ["case_id"])


def downgrade() -> None:
    op.drop_table("consent_withdrawals")
    op.drop_table("person_rectifications")
    op.drop_table("person_erasures")
    drop_retention_tables_v1()
