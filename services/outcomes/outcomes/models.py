"""ORM models of the outcomes service, on its own MetaData.

Observations are stored per person (the person id of the cases service's person index) or per family, with the
agency that supplied them and the import that brought them. Each observation table has a natural key, so that
loading the same data twice changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.idempotency import idempotency_table
from shared.platform_tables import PlatformTables
from shared.retention.tables import RetentionTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)
retention = RetentionTables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class Framework(Base):
    """One version of an outcome framework; `is_current` marks the version in force for its code."""

    __tablename__ = "frameworks"
    __table_args__ = (
        UniqueConstraint("code", "version", name="uq_frameworks_code_version"),
        Index("uq_frameworks_current_code", "code", unique=True, postgresql_where=text("is_current")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    etag: Mapped[str] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_by: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActiveFrameworkChange(Base):
    """An administrator's choice of the framework new assessments use, from `effective_from` on. The active
    framework on a day is the latest change effective by then (the setting `OUTCOMES_ACTIVE_FRAMEWORK` before
    any change). Rows are never updated or deleted: they are the audit trail of the programme's set-up."""

    __tablename__ = "active_framework_changes"
    __table_args__ = (Index("ix_active_framework_changes_effective", "effective_from", "changed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    framework_code: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProgrammePhase(Base):
    """A phase of the programme: a family is enrolled and claimed at most once per phase. The current phase is
    the one whose dates hold today (the setting `OUTCOMES_PROGRAMME_PHASE` while none does). Its funding model
    decides what a claim is: a payment-by-results claim, or under Earned Autonomy (funded up front) a record of
    outcome evidence that goes through the same local audit."""

    __tablename__ = "programme_phases"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint("funding_model IN ('payment_by_results', 'earned_autonomy')", name="funding_model"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    funding_model: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Person(Base):
    """A person of an enrolled family, with the identifiers observations may name them by."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_nhs_number", "nhs_number"),
        Index("ix_people_upn", "upn"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    nhs_number: Mapped[str | None] = mapped_column(Text, nullable=True)
    upn: Mapped[str | None] = mapped_column(Text, nullable=True)


class Enrolment(Base):
    """A family enrolled on the programme for one phase; the start date is the baseline date."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("family_id", "programme_phase", name="uq_enrolments_family_phase"),
        Index("ix_enrolments_hub", "hub"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    hub: Mapped[str | None] = mapped_column(Text, nullable=True)
    programme_phase: Mapped[str] = mapped_column(Text)
    framework_code: Mapped[str] = mapped_column(Text)
    framework_version: Mapped[str] = mapped_column(Text)
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text))
    eligible: Mapped[bool] = mapped_column(Boolean)
    expectant: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    """The family included an expectant parent when assessed (counts as dependent children where asked)."""
    start_date: Mapped[date] = mapped_column(Date)
    assessed_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    close_outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EnrolmentMember(Base):
    __tablename__ = "enrolment_members"
    __table_args__ = (Index("ix_enrolment_members_person_id", "person_id"),)

    enrolment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(Text)


class ObservationImport(Base):
    """One load of observations (a CSV upload or a JSON batch) and what became of its rows."""

    __tablename__ = "observation_imports"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(Text)
    fmt: Mapped[str] = mapped_column(Text)
    source_agency: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(Text)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_already_present: Mapped[int] = mapped_column(Integer, default=0)
    rows_unknown_person: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AttendanceRecord(Base):
    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("person_id", "term_start", "term_end", name="uq_attendance_records_person_term"),
        CheckConstraint("term_end >= term_start", name="term_order"),
        CheckConstraint(
            "possible_sessions >= 0 AND attended_sessions >= 0 AND attended_sessions <= possible_sessions"
            " AND unauthorised_sessions >= 0 AND unauthorised_sessions <= possible_sessions - attended_sessions"
            " AND suspensions >= 0",
            name="sessions",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    possible_sessions: Mapped[int] = mapped_column(Integer)
    attended_sessions: Mapped[int] = mapped_column(Integer)
    unauthorised_sessions: Mapped[int] = mapped_column(Integer)
    suspensions: Mapped[int] = mapped_column(Integer)
    permanently_excluded: Mapped[bool] = mapped_column(Boolean)
    source_agency: Mapped[str] = mapped_column(Text)
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class Incident(Base):
    """An offence, ASB incident or domestic abuse incident, by a person or recorded against a family."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index(
            "uq_incidents_natural_key",
            "kind",
            "person_id",
            "family_id",
            "occurred_on",
            "reference",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_incidents_family_id", "family_id"),
        Index("ix_incidents_person_id", "person_id"),
        CheckConstraint("kind IN ('offence', 'asb', 'domestic_abuse_incident')", name="kind"),
        CheckConstraint("person_id IS NOT NULL OR family_id IS NOT NULL", name="subject"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(Text, server_default="")
    source_agency: Mapped[str] = mapped_column(Text)
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class StatusPeriod(Base):
    """A period in which a person held a status (employment, housing, education/employment/training, financial
    stability such as a debt repayment plan kept)."""

    __tablename__ = "status_periods"
    __table_args__ = (
        UniqueConstraint("kind", "person_id", "period_start", name="uq_status_periods_kind_person_start"),
        Index("ix_status_periods_person_id", "person_id"),
        CheckConstraint("kind IN ('employment', 'housing', 'neet', 'financial')", name="kind"),
        CheckConstraint("period_end IS NULL OR period_end >= period_start", name="period_order"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(Text)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    source_agency: Mapped[str] = mapped_column(Text)
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class PractitionerAssessment(Base):
    __tablename__ = "practitioner_assessments"
    __table_args__ = (
        UniqueConstraint("family_id", "need", "assessed_on", name="uq_practitioner_assessments_family_need_on"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    need: Mapped[str] = mapped_column(Text)
    met: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str] = mapped_column(Text)
    assessed_on: Mapped[date] = mapped_column(Date)
    source_agency: Mapped[str] = mapped_column(Text)
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class EvaluationRun(Base):
    """One evaluation of a family or of the cohort. A cohort run split over several connections (shards) is
    committed as `running` before they start, so each can refer to it; it ends `completed` or `failed`."""

    __tablename__ = "evaluation_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'completed', 'failed')", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    as_of: Mapped[date] = mapped_column(Date)
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    families: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(Text, server_default="completed")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NeedResult(Base):
    """The latest result of one identified need of one enrolment, with the observations it rests on."""

    __tablename__ = "need_results"
    # No index on run_id and fillfactor 70 (migration outcomes0003): rewriting a changed result is a HOT update.
    __table_args__ = {"postgresql_with": {"fillfactor": 70}}

    enrolment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    """An enrolment, deleted with it: checked per statement by triggers (migration outcomes0005), not a
    row-level foreign key."""
    need: Mapped[str] = mapped_column(Text, primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The evaluation run that wrote this result (checked like `enrolment_id`; runs are never deleted)."""
    rule_kind: Mapped[str] = mapped_column(Text)
    met: Mapped[bool] = mapped_column(Boolean)
    sustained: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    evidence_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    evidence_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    as_of: Mapped[date] = mapped_column(Date)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditSample(Base):
    __tablename__ = "audit_samples"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    rate: Mapped[float] = mapped_column(Numeric(5, 4))
    seed: Mapped[int] = mapped_column(BigInteger)
    population: Mapped[int] = mapped_column(Integer)
    claim_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Claim(Base):
    """A payment-by-results claim. At most one claim that is not rejected per family per programme phase."""

    __tablename__ = "claims"
    __table_args__ = (
        Index(
            "uq_claims_family_phase_live",
            "family_id",
            "programme_phase",
            unique=True,
            postgresql_where=text("status <> 'rejected'"),
        ),
        CheckConstraint("status IN ('pending', 'validated', 'rejected')", name="status"),
        CheckConstraint("status <> 'rejected' OR decision_reason IS NOT NULL", name="rejection_reason"),
        Index("ix_claims_status", "status"),
        Index("ix_claims_created", "created_at", "id"),
        # the claims list's order (oldest first, then id): a page is an index scan, not a sort of every claim
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    enrolment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("enrolments.id"))
    programme_phase: Mapped[str] = mapped_column(Text)
    framework_code: Mapped[str] = mapped_column(Text)
    framework_version: Mapped[str] = mapped_column(Text)
    hub: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(Text, default="pending")
    funding_model: Mapped[str] = mapped_column(Text, server_default="payment_by_results")
    """`payment_by_results`: a claim for payment; `earned_autonomy`: a record of outcome evidence (same audit)."""
    practitioner_assessed: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evidence_sha256: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sample_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("audit_samples.id"), nullable=True
    )
    decided_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
