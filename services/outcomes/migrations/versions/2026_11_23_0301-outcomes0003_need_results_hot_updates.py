"""need_results: room for HOT updates, no index on run_id

Revision ID: outcomes0003
Revises: outcomes0002
Create Date: 2026-11-23 03:01:00

A cohort evaluation rewrites the results that changed. With `run_id` indexed, every rewrite changed an indexed
column, so each new row version also took a new entry in both indexes; without that index, and with free space
left in each page, a rewrite is a heap-only (HOT) update that touches no index. Nothing looks results up by run
(a run's counts come from its own statements); the foreign key to evaluation_runs stays, and runs are never
deleted, so it needs no index on this side.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "outcomes0003"
down_revision: str | None = "outcomes0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_need_results_run_id", table_name="need_results")
    op.execute("ALTER TABLE need_results SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE need_results RESET (fillfactor)")
    op.create_index("ix_need_results_run_id", "need_results", ["run_id"], unique=False)
