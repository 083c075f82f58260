"""need_results: its two references checked once per statement instead of once per row

Revision ID: outcomes0005
Revises: outcomes0004
Create Date: 2026-11-23 06:00:00

A whole-cohort evaluation writes one result per need of every enrolled family (500,000 rows for 100,000
families). The row-level foreign keys ran two referential queries per row, 1,000,000 in all: 6.8 s of a 19 s
first evaluation under EXPLAIN ANALYZE. The same invariants now hold through triggers that look at each
statement's rows as one set (transition tables), 0.16 s for those 500,000 rows:

* need_results.enrolment_id names an enrolment, and ON DELETE CASCADE. After every INSERT or UPDATE of
  need_results, a missing enrolment fails the statement with foreign_key_violation; deleting enrolments
  deletes their results in the same statement. The foreign key made a writer and a deleter of one enrolment
  wait for each other through a FOR KEY SHARE lock on each enrolment row named (taking those 100,000 row
  locks made this check 1.6 s instead of 0.16 s); here they wait on one advisory lock (REFERENCES_LOCK),
  shared by writers from their check until they end and taken alone by a DELETE of enrolments before it
  deletes anything. So a deletion waits for every
  transaction that wrote results, and its cascade, a new snapshot under READ COMMITTED, sees and deletes
  them; a writer that meets a deletion in progress waits for it, and its check then finds the enrolment
  gone. Above READ COMMITTED the cascade would read the transaction's snapshot and could miss results
  committed while it waited (the foreign key's cascade saw them through a cross-check snapshot), so
  enrolments are deleted under READ COMMITTED only, which every service uses. Deletions are rare (nothing
  deletes enrolments yet) and wait at most for the evaluations in progress. TRUNCATE enrolments empties
  need_results.
* An enrolment's id never changes (the foreign key refused changing a referenced one; nothing changes any).
* need_results.run_id names an evaluation run. Runs are a record of what was evaluated and are never deleted
  nor renumbered: DELETE, TRUNCATE and changing an id are refused, so a run seen once cannot disappear and its
  check needs no lock.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "outcomes0005"
down_revision: str | None = "outcomes0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES_LOCK = 0x6F75747265667321
"""Advisory lock key: shared by each transaction that wrote need_results, alone by one deleting enrolments."""

_UP = [
    """
CREATE FUNCTION need_results_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    enrolment uuid;
    run uuid;
BEGIN
    PERFORM pg_advisory_xact_lock_shared({lock});
    SELECT n.enrolment_id, n.run_id INTO enrolment, run FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.id = n.enrolment_id)
       OR NOT EXISTS (SELECT 1 FROM evaluation_runs r WHERE r.id = n.run_id)
    LIMIT 1;
    IF FOUND AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.id = enrolment) THEN
        RAISE EXCEPTION 'need_results.enrolment_id % is not present in table "enrolments"', enrolment
            USING ERRCODE = 'foreign_key_violation', TABLE = 'need_results';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'need_results.run_id % is not present in table "evaluation_runs"', run
            USING ERRCODE = 'foreign_key_violation', TABLE = 'need_results';
    END IF;
    RETURN NULL;
END $$
    """,
    """
CREATE TRIGGER need_results_inserted_references AFTER INSERT ON need_results
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION need_results_check_references()
    """,
    """
CREATE TRIGGER need_results_updated_references AFTER UPDATE ON need_results
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION need_results_check_references()
    """,
    """
CREATE FUNCTION enrolments_before_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'enrolments are deleted under READ COMMITTED only (their need_results follow them)'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM pg_advisory_xact_lock({lock});
    RETURN NULL;
END $$
    """,
    """
CREATE TRIGGER enrolments_before_delete BEFORE DELETE ON enrolments
    FOR EACH STATEMENT EXECUTE FUNCTION enrolments_before_delete()
    """,
    """
CREATE FUNCTION enrolments_delete_need_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM need_results nr USING old_rows o WHERE nr.enrolment_id = o.id;
    RETURN NULL;
END $$
    """,
    """
CREATE TRIGGER enrolments_delete_need_results AFTER DELETE ON enrolments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION enrolments_delete_need_results()
    """,
    """
CREATE FUNCTION enrolments_truncate_need_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE need_results;
    RETURN NULL;
END $$
    """,
    """
CREATE TRIGGER enrolments_truncate_need_results BEFORE TRUNCATE ON enrolments
    FOR EACH STATEMENT EXECUTE FUNCTION enrolments_truncate_need_results()
    """,
    """
CREATE FUNCTION refuse_id_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.id does not change (% to %)', TG_TABLE_NAME, OLD.id, NEW.id
        USING ERRCODE = 'foreign_key_violation';
END $$
    """,
    """
CREATE TRIGGER enrolments_keep_id BEFORE UPDATE OF id ON enrolments
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_id_change()
    """,
    """
CREATE TRIGGER evaluation_runs_keep_id BEFORE UPDATE OF id ON evaluation_runs
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_id_change()
    """,
    """
CREATE FUNCTION evaluation_runs_refuse_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evaluation runs are kept (need_results name them)' USING ERRCODE = 'foreign_key_violation';
END $$
    """,
    """
CREATE TRIGGER evaluation_runs_no_delete BEFORE DELETE ON evaluation_runs
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_runs_refuse_removal()
    """,
    """
CREATE TRIGGER evaluation_runs_no_truncate BEFORE TRUNCATE ON evaluation_runs
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_runs_refuse_removal()
    """,
]

_DOWN = [
    "DROP TRIGGER evaluation_runs_no_truncate ON evaluation_runs",
    "DROP TRIGGER evaluation_runs_no_delete ON evaluation_runs",
    "DROP FUNCTION evaluation_runs_refuse_removal()",
    "DROP TRIGGER evaluation_runs_keep_id ON evaluation_runs",
    "DROP TRIGGER enrolments_keep_id ON enrolments",
    "DROP FUNCTION refuse_id_change()",
    "DROP TRIGGER enrolments_truncate_need_results ON enrolments",
    "DROP FUNCTION enrolments_truncate_need_results()",
    "DROP TRIGGER enrolments_delete_need_results ON enrolments",
    "DROP FUNCTION enrolments_delete_need_results()",
    "DROP TRIGGER enrolments_before_delete ON enrolments",
    "DROP FUNCTION enrolments_before_delete()",
    "DROP TRIGGER need_results_updated_references ON need_results",
    "DROP TRIGGER need_results_inserted_references ON need_results",
    "DROP FUNCTION need_results_check_references()",
]


def upgrade() -> None:
    op.drop_constraint("fk_need_results_run_id_evaluation_runs", "need_results", type_="foreignkey")
    op.drop_constraint("fk_need_results_enrolment_id_enrolments", "need_results", type_="foreignkey")
    for statement in _UP:
        op.execute(statement.replace("{lock}", str(REFERENCES_LOCK)))


def downgrade() -> None:
    for statement in _DOWN:
        op.execute(statement)
    op.create_foreign_key(
        "fk_need_results_enrolment_id_enrolments",
        "need_results",
        "enrolments",
        ["enrolment_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_need_results_run_id_evaluation_runs", "need_results", "evaluation_runs", ["run_id"], ["id"]
    )
