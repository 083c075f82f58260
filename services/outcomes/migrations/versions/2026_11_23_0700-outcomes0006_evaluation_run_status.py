"""evaluation_runs: status and finished_at, for cohort runs split over several connections

Revision ID: outcomes0006
Revises: outcomes0005
Create Date: 2026-11-23 07:00:00

A cohort evaluation may run in shards, each on its own connection and in its own transaction; their results
refer to the run, so the run is committed (`running`) before they start and marked `completed` or `failed`
after. Runs recorded before this revision all completed (they were written with their results).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outcomes0006"
down_revision: str | None = "outcomes0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("evaluation_runs", sa.Column("status", sa.Text(), server_default="completed", nullable=False))
    op.add_column("evaluation_runs", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_evaluation_runs_status"), "evaluation_runs", "status IN ('running', 'completed', 'failed')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_evaluation_runs_status"), "evaluation_runs", type_="check")
    op.drop_column("evaluation_runs", "finished_at")
    op.drop_column("evaluation_runs", "status")
