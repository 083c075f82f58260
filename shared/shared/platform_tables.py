"""The tables every service carries in its own database: audit log, outbox, subscriptions, inbox.

`PlatformTables(metadata)` declares them on a service's MetaData so that its ORM, its repository code and
Alembic see them; `shared.migration_ops` creates them (with their triggers) in the service's first migration.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


class PlatformTables:
    """Table objects for the shared mechanisms, bound to one service's MetaData."""

    def __init__(self, metadata: MetaData) -> None:
        self.metadata = metadata
        self.audit_log = _audit_log(metadata)
        self.event_subscriptions = _event_subscriptions(metadata)
        self.outbox_events = _outbox_events(metadata)
        self.outbox_deliveries = _outbox_deliveries(metadata)
        self.delivery_attempts = _delivery_attempts(metadata)
        self.inbox = _inbox(metadata)


def _audit_log(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False, server_default=text("0")),  # set by trigger
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("record_type", Text, nullable=False),
        Column("record_id", Text, nullable=False),
        Column("purpose", Text, nullable=True),
        Column("details", JSONB, nullable=True),
        Column("prev_hash", Text, nullable=True),
        Column("hash", Text, nullable=False),
        Index("ix_audit_log_record", "record_type", "record_id"),
        Index("ix_audit_log_actor", "actor"),
    )


def _event_subscriptions(metadata: MetaData) -> Table:
    return Table(
        "event_subscriptions",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("name", Text, nullable=True, unique=True),
        Column("url", Text, nullable=False),
        Column("event_types", ARRAY(Text), nullable=False),
        Column("secret", Text, nullable=False),
        Column("owner_agency", Text, nullable=True),
        Column("description", Text, nullable=True),
        Column("created_by", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("active", Boolean, nullable=False, server_default=text("true")),
        Index("ix_event_subscriptions_owner_agency", "owner_agency"),
    )


def _outbox_events(metadata: MetaData) -> Table:
    return Table(
        "outbox_events",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("type", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("subject", Text, nullable=True),
        Column("time", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("data", JSONB, nullable=False),
        Column("audience_agency", Text, nullable=True),
        Column("traceparent", Text, nullable=True),
    )


def _outbox_deliveries(metadata: MetaData) -> Table:
    return Table(
        "outbox_deliveries",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column(
            "event_id",
            UUID(as_uuid=True),
            ForeignKey("outbox_events.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column(
            "subscription_id",
            UUID(as_uuid=True),
            ForeignKey("event_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("subject", Text, nullable=True),
        Column("status", Text, nullable=False, server_default="pending"),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("last_attempt_at", DateTime(timezone=True), nullable=True),
        Column("delivered_at", DateTime(timezone=True), nullable=True),
        Column("last_status_code", Integer, nullable=True),
        Column("last_error", Text, nullable=True),
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        Index(
            "ix_outbox_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_deliveries_order",
            "subscription_id",
            "subject",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_deliveries_event_id", "event_id"),
    )


def _delivery_attempts(metadata: MetaData) -> Table:
    return Table(
        "delivery_attempts",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column(
            "delivery_id",
            BigInteger,
            ForeignKey("outbox_deliveries.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("status_code", Integer, nullable=True),
        Column("error", Text, nullable=True),
        Column("duration_ms", Integer, nullable=False),
    )


def _inbox(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("event_id", Text, primary_key=True),
        Column("type", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
