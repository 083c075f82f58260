"""Alembic operations for a service's retention migration: the tables of `shared.retention.tables`, and an audit
log that lets checkpointed rows (and only those) be pruned.

Part of migration history: change only by adding new functions, never by editing what an applied migration ran.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import MetaData

from shared.db import NAMING_CONVENTION
from shared.retention.tables import RetentionTables

# A DELETE passes only inside a retention run's transaction (which sets earlyhelp.audit_prune) and only for rows
# at or before the latest checkpoint, whose hash the checkpoint keeps, so that the rest of the chain still verifies.
# UPDATE and TRUNCATE stay refused.
ALLOW_CHECKPOINTED_PRUNE = r"""
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('earlyhelp.audit_prune', true) = 'on'
       AND OLD.seq <= (SELECT max(through_seq) FROM audit_checkpoints) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""

# After a prune that emptied the log, the next row links to the checkpoint's hash, not to nothing.
CHAIN_FROM_CHECKPOINT = r"""
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
    NEW.seq := nextval('audit_log_seq');
    NEW.occurred_at := date_trunc('microseconds', clock_timestamp());
    SELECT hash INTO last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    IF last_hash IS NULL THEN
        SELECT through_hash INTO last_hash FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1;
    END IF;
    NEW.prev_hash := last_hash;
    NEW.hash := audit_log_digest(NEW.prev_hash, NEW.seq, NEW.occurred_at, NEW.actor, NEW.action,
                                 NEW.record_type, NEW.record_id, NEW.purpose, NEW.details);
    RETURN NEW;
END
$$
"""

CHAIN_FROM_LAST_ROW = r"""
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
    NEW.seq := nextval('audit_log_seq');
    NEW.occurred_at := date_trunc('microseconds', clock_timestamp());
    SELECT hash INTO last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    NEW.prev_hash := last_hash;
    NEW.hash := audit_log_digest(NEW.prev_hash, NEW.seq, NEW.occurred_at, NEW.actor, NEW.action,
                                 NEW.record_type, NEW.record_id, NEW.purpose, NEW.details);
    RETURN NEW;
END
$$
"""

REFUSE_EVERY_CHANGE = r"""
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _tables() -> RetentionTables:
    return RetentionTables(MetaData(naming_convention=NAMING_CONVENTION))


def create_retention_tables_v1() -> None:
    tables = _tables()
    bind = op.get_bind()
    for table in (tables.tombstones, tables.legal_holds, tables.audit_checkpoints):
        table.create(bind)
    op.execute(ALLOW_CHECKPOINTED_PRUNE)
    op.execute(CHAIN_FROM_CHECKPOINT)


def drop_retention_tables_v1() -> None:
    op.execute(REFUSE_EVERY_CHANGE)
    op.execute(CHAIN_FROM_LAST_ROW)
    tables = _tables()
    bind = op.get_bind()
    for table in (tables.audit_checkpoints, tables.legal_holds, tables.tombstones):
        table.drop(bind)
