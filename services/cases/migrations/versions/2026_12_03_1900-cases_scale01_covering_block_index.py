"""people: the date-of-birth block of matching read from a covering index

Revision ID: cases_scale01
Revises: cases0007
Create Date: 2026-12-03 19:00:00

With 10,000,000 people in the index a date of birth (and its day-month transposition) is shared by 300 to 600
people. The block read each of them from the table, one page per person (316 heap pages, 10 ms for one
request on the benchmark's machine). ix_people_block_dob holds, for the people not merged away, the date of
birth and family key with every field a comparison reads, so the block is an index-only scan of a few
neighbouring pages. It replaces ix_people_dob_family_key (date of birth, family key), whose other reader
(`people_same_name_dob`, intake's check for a person already there) asks only for people not merged away too.

On a large existing index, build the new index first by hand with CREATE INDEX CONCURRENTLY (same name and
definition) to keep writes going: this migration then only drops the old one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cases_scale01"
down_revision: str | None = "cases0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_people_block_dob ON people (date_of_birth, family_key)"
        " INCLUDE (id, given_name, family_name, postcode, nhs_number, upn) WHERE merged_into_id IS NULL"
    )
    op.drop_index("ix_people_dob_family_key", table_name="people")


def downgrade() -> None:
    op.create_index("ix_people_dob_family_key", "people", ["date_of_birth", "family_key"], unique=False)
    op.drop_index("ix_people_block_dob", table_name="people")
