"""ORM models of the intelligence service, on its own MetaData.

Partner datasets arrive as rows (`partner_records`) keyed by (kind, source agency, the partner's record id), so
importing the same file twice changes nothing. A linkage run assigns every record to a person (`record_links`),
groups people into households (`household_members`) and computes each household's needs against the active
framework (`identified_families`), with the evidence of every need. Only a human decision refers a family.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.idempotency import idempotency_table
from shared.platform_tables import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class DatasetImport(Base):
    """One upload of a partner dataset, with its data protection record and its report."""

    __tablename__ = "dataset_imports"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(Text)
    source_agency: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    sharing_agreement: Mapped[str] = mapped_column(Text)
    lawful_basis: Mapped[str] = mapped_column(Text)
    special_category_condition: Mapped[str | None] = mapped_column(Text, nullable=True)
    retain_until: Mapped[date] = mapped_column(Date)
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_updated: Mapped[int] = mapped_column(Integer)
    rows_unchanged: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    imported_by: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PartnerRecord(Base):
    """One row of a partner dataset: the person columns every kind has, and the kind's own typed values."""

    __tablename__ = "partner_records"
    __table_args__ = (
        UniqueConstraint("kind", "source_agency", "record_id", name="uq_partner_records_natural_key"),
        Index("ix_partner_records_retain_until", "retain_until"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    source_agency: Mapped[str] = mapped_column(Text)
    record_id: Mapped[str] = mapped_column(Text)
    given_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    family_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    postcode: Mapped[str | None] = mapped_column(Text, nullable=True)
    address_line: Mapped[str | None] = mapped_column(Text, nullable=True)
    uprn: Mapped[str | None] = mapped_column(Text, nullable=True)
    nhs_number: Mapped[str | None] = mapped_column(Text, nullable=True)
    upn: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    row_hash: Mapped[str] = mapped_column(Text)
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("dataset_imports.id"))
    retain_until: Mapped[date] = mapped_column(Date)


class LinkageRun(Base):
    """One run of linkage → households → needs, with the trained model and its diagnostics."""

    __tablename__ = "linkage_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    engine: Mapped[str] = mapped_column(Text)
    framework: Mapped[str] = mapped_column(Text)
    threshold: Mapped[float] = mapped_column(Float)
    model: Mapped[dict[str, Any]] = mapped_column(JSONB)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(JSONB)
    run_by: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecordLink(Base):
    """The person a partner record belongs to, after the latest linkage run (with why it was linked)."""

    __tablename__ = "record_links"
    __table_args__ = (Index("ix_record_links_person", "person_key"),)

    record_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("partner_records.id", ondelete="CASCADE"), primary_key=True
    )
    person_key: Mapped[str] = mapped_column(Text)
    household_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    household_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("linkage_runs.id"))


class IdentifiedFamily(Base):
    """A household meeting the active framework's threshold (or known to social care, shown as statutory)."""

    __tablename__ = "identified_families"
    __table_args__ = (
        CheckConstraint(
            "status IN ('identified', 'statutory', 'open_case', 'referred', 'not_now', 'dismissed')", name="status"
        ),
        CheckConstraint(
            "cases_check IN ('unchecked', 'open_case', 'case_closed', 'known_no_case', 'not_known')",
            name="cases_check",
        ),
        CheckConstraint("(cases_check = 'unchecked') = (cases_checked_at IS NULL)", name="cases_checked_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    household_key: Mapped[str] = mapped_column(Text, unique=True)
    hub: Mapped[str] = mapped_column(Text)
    hub_defaulted: Mapped[bool] = mapped_column(default=False)
    postcode: Mapped[str | None] = mapped_column(Text, nullable=True)
    address_line: Mapped[str | None] = mapped_column(Text, nullable=True)
    framework: Mapped[str] = mapped_column(Text)
    needs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    need_count: Mapped[int] = mapped_column(Integer)
    latest_evidence: Mapped[date | None] = mapped_column(Date, nullable=True)
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    statutory: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The social care status (cin, cp, cla) when the family is known at statutory level: not offered."""
    status: Mapped[str] = mapped_column(Text, default="identified")
    """identified, statutory, open_case, referred, not_now or dismissed."""
    cases_check: Mapped[str] = mapped_column(Text, default="unchecked", server_default="unchecked")
    """What the cases person index says of the members: open_case, case_closed, known_no_case, not_known, or
    unchecked (not asked yet, or cases did not answer: never taken as not known)."""
    cases_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("linkage_runs.id"))
    identified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


EVIDENCE_RANK = func.coalesce(IdentifiedFamily.latest_evidence, literal_column("'-infinity'::date", Date))
"""The most recent evidence of a family as the list ranks it: a family without any sorts last. The default is a
constant in the SQL (not a parameter) so the ranking indexes below match the query's ORDER BY; it is `-infinity`,
the value asyncpg sends for `date.min`, the cursors' stand-in for no evidence."""
Index(
    "ix_identified_families_rank",
    IdentifiedFamily.need_count.desc(),
    EVIDENCE_RANK.desc(),
    IdentifiedFamily.id,
)
Index(
    "ix_identified_families_hub_rank",
    IdentifiedFamily.hub,
    IdentifiedFamily.need_count.desc(),
    EVIDENCE_RANK.desc(),
    IdentifiedFamily.id,
)
"""The list's order exactly (most needs, newest evidence, then id), for every hub and within one hub, so a page
is an index scan that stops after the page, not a scan and sort of every family."""


class NeedSnapshot(Base):
    """How many identified families had each combination of needs, by hub and postcode district, as a linkage run
    found them (the commissioning view over time). Counts only: no family, person or record is referenced."""

    __tablename__ = "need_snapshots"
    __table_args__ = (
        UniqueConstraint("run_id", "hub", "postcode_district", "needs", "statutory", name="uq_need_snapshots_cell"),
        CheckConstraint("families > 0", name="families_positive"),
        Index("ix_need_snapshots_as_of", "as_of"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("linkage_runs.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    framework: Mapped[str] = mapped_column(Text)
    hub: Mapped[str] = mapped_column(Text)
    postcode_district: Mapped[str] = mapped_column(Text)
    """The district of the household's postcode, or `unknown`."""
    needs: Mapped[str] = mapped_column(Text)
    """The need codes, sorted and joined by `+` (empty for a statutory family with none)."""
    statutory: Mapped[bool] = mapped_column()
    families: Mapped[int] = mapped_column(Integer)
