"""The tables of retention every service carries: tombstones, legal holds (cases owns them; the other services
keep a replica fed by events) and audit-log checkpoints. Created by `shared.retention.migration`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, MetaData, Table, Text, func, text
from sqlalchemy.dialects.postgresql import UUID


class RetentionTables:
    def __init__(self, metadata: MetaData) -> None:
        self.tombstones = Table(
            "retention_tombstones",
            metadata,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("record_type", Text, nullable=False),
            Column("record_id", Text, nullable=False),
            Column("action", Text, nullable=False),
            Column("rule", Text, nullable=False),
            Column("due_on", Date, nullable=False),
            Column("erased_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("erased_by", Text, nullable=False),
            Index("ix_retention_tombstones_record", "record_type", "record_id"),
        )
        self.legal_holds = Table(
            "legal_holds",
            metadata,
            Column("id", UUID(as_uuid=True), primary_key=True),
            Column("family_id", UUID(as_uuid=True), nullable=False),
            Column("reason", Text, nullable=False),
            Column("placed_by", Text, nullable=False),
            Column("placed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("released_at", DateTime(timezone=True), nullable=True),
            Column("released_by", Text, nullable=True),
            Column("release_reason", Text, nullable=True),
            Index("ix_legal_holds_active_family", "family_id", postgresql_where=text("released_at IS NULL")),
        )
        self.audit_checkpoints = Table(
            "audit_checkpoints",
            metadata,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("through_seq", BigInteger, nullable=False, unique=True),
            Column("through_hash", Text, nullable=False),
            Column("rows_pruned", Integer, nullable=False),
            Column("pruned_before", DateTime(timezone=True), nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("created_by", Text, nullable=False),
        )
