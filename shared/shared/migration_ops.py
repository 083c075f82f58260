"""Alembic operations that create and drop the platform tables in a service's first migration.

These functions are part of migration history: change them only by adding new functions for new
migrations, never by editing what an applied migration ran.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql

from shared.db import NAMING_CONVENTION
from shared.platform_tables import PlatformTables

AUDIT_FUNCTIONS = r"""
CREATE SEQUENCE audit_log_seq;

CREATE FUNCTION audit_log_digest(
    prev text, seq bigint, at timestamptz, actor text, action text,
    record_type text, record_id text, purpose text, details jsonb
) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|',
        coalesce(prev, ''), seq::text,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        actor, action, record_type, record_id, coalesce(purpose, ''), coalesce(details::text, '')
    ), 'UTF8')), 'hex')
$$;

-- Chain each new row to the one before it. The advisory lock orders writers, and the sequence value is
-- taken under the lock so that seq order is chain order.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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
$$;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
"""

AUDIT_DROP = """
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS audit_log_immutable ON audit_log;
DROP TRIGGER IF EXISTS audit_log_chain ON audit_log;
DROP FUNCTION IF EXISTS audit_log_refuse_change();
DROP FUNCTION IF EXISTS audit_log_chain();
DROP FUNCTION IF EXISTS audit_log_digest(text, bigint, timestamptz, text, text, text, text, text, jsonb);
DROP SEQUENCE IF EXISTS audit_log_seq;
"""

_ORDER = [
    "audit_log",
    "event_subscriptions",
    "outbox_events",
    "outbox_deliveries",
    "delivery_attempts",
    "inbox",
]


def _tables() -> PlatformTables:
    return PlatformTables(MetaData(naming_convention=NAMING_CONVENTION))


def create_platform_tables_v1() -> None:
    """Create the audit log (with its chain and immutability triggers), outbox, subscriptions and inbox."""
    tables = _tables()
    bind = op.get_bind()
    for name in _ORDER:
        tables.metadata.tables[name].create(bind)
    for statement in _split(AUDIT_FUNCTIONS):
        op.execute(statement)


def drop_platform_tables_v1() -> None:
    for statement in _split(AUDIT_DROP):
        op.execute(statement)
    tables = _tables()
    bind = op.get_bind()
    for name in reversed(_ORDER):
        tables.metadata.tables[name].drop(bind)


def create_idempotency_keys_v1() -> None:
    """The `idempotency_keys` table of `shared.idempotency` (a service's later migration, when its creates take
    `Idempotency-Key`)."""
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("owner", "key", name=op.f("pk_idempotency_keys")),
    )


def drop_idempotency_keys_v1() -> None:
    op.drop_table("idempotency_keys")


def _split(script: str) -> list[str]:
    """Split on top-level semicolons, keeping $$-quoted bodies whole."""
    statements, current, in_body = [], [], False
    for line in script.splitlines():
        if line.strip().startswith("--") and not in_body:
            continue
        current.append(line)
        if line.count("$$") % 2 == 1:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement.strip(";").strip():
                statements.append(statement)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements
