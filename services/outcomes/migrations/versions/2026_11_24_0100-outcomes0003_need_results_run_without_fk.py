"""need_results.run_id without a foreign key

A whole-cohort evaluation writes one result per need of every enrolled family (500,000 rows for 100,000
families); the foreign key to evaluation_runs fired a row-level referential check for each of them, which was
about 40% of the evaluation's time. The run row is written by the same transaction just before, by the only
code that writes need_results, and runs are never deleted, so the check guarded nothing.

Revision ID: outcomes0003
Revises: outcomes0002
Create Date: 2026-11-24 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "outcomes0003"
down_revision: str | None = "outcomes0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("fk_need_results_run_id_evaluation_runs", "need_results", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "fk_need_results_run_id_evaluation_runs", "need_results", "evaluation_runs", ["run_id"], ["id"]
    )
