"""ORM models of the referrals service, on its own MetaData."""

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
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import new_metadata
from shared.platform_tables import PlatformTables
from shared.retention.tables import RetentionTables

KINDS = ("maternity", "school", "intelligence", "partner", "operation_encompass")
STATUSES = ("received", "screening", "accepted", "signposted", "no_further_action", "stepped_up", "withdrawn")
OPEN_STATUSES = ("received", "screening")
DECISION_OUTCOMES = ("accepted", "signposted", "no_further_action", "stepped_up")
MATCHING_STATES = ("pending", "completed")
LAWFUL_BASES = ("consent", "public_task", "legal_obligation", "vital_interests", "legitimate_interests")
PERSON_MATCH_STATES = ("pending", "matched", "candidates", "no_match", "confirmed", "new_person")
"""`candidates`: in review (or a conflict) until triage confirms one (`confirmed`) or declares a new person."""


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)
retention = RetentionTables(Base.metadata)


class Referral(Base):
    """A referral from a partner agency, its triage state and what cases made of it."""

    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    agency: Mapped[str] = mapped_column(Text)
    agency_type: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    external_reference: Mapped[str] = mapped_column(Text)
    hub: Mapped[str] = mapped_column(Text)
    hub_defaulted: Mapped[bool] = mapped_column(Boolean)
    postcode: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    safeguarding_concern: Mapped[bool] = mapped_column(Boolean)
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text))
    reason: Mapped[str] = mapped_column(Text)
    referrer: Mapped[dict[str, Any]] = mapped_column(JSONB)
    consent: Mapped[dict[str, Any]] = mapped_column(JSONB)
    consent_given: Mapped[bool] = mapped_column(Boolean)
    lawful_basis: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    expected_delivery_date: Mapped[date | None] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decision_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_outcome: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    matching: Mapped[str] = mapped_column(Text)
    matching_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    matching_next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    matching_traceparent: Mapped[str | None] = mapped_column(Text)
    """The W3C trace the referral was received in: the matching worker's call to cases continues it."""
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    people: Mapped[list[ReferralPerson]] = relationship(
        lazy="raise", order_by="ReferralPerson.position", back_populates="referral"
    )
    history: Mapped[list[StatusChange]] = relationship(lazy="raise", order_by="StatusChange.id")

    __table_args__ = (
        UniqueConstraint("agency", "external_reference", name="uq_referrals_agency_external_reference"),
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint(f"matching IN ({_in(MATCHING_STATES)})", name="matching"),
        CheckConstraint(
            f"(decision_outcome IS NULL) = (status NOT IN ({_in(DECISION_OUTCOMES)}))",
            name="decision_matches_status",
        ),
        CheckConstraint("(withdrawn_at IS NULL) = (status <> 'withdrawn')", name="withdrawn_matches_status"),
        CheckConstraint("status <> 'accepted' OR consent_given", name="accepted_needs_consent"),
        CheckConstraint(f"lawful_basis IN ({_in(LAWFUL_BASES)})", name="lawful_basis"),
        CheckConstraint("lawful_basis <> 'consent' OR consent_given", name="consent_basis_needs_consent"),
        Index("ix_referrals_hub_status", "hub", "status"),
        Index("ix_referrals_family_id", "family_id", postgresql_where=text("family_id IS NOT NULL")),
        Index("ix_referrals_matching_pending", "matching_next_at", postgresql_where=text("matching = 'pending'")),
    )


Index("ix_referrals_queue", Referral.safeguarding_concern.desc(), Referral.received_at, Referral.id)
"""The triage queue's order exactly (safeguarding concerns first, then oldest, then id): a page is an index scan."""


class ReferralPerson(Base):
    """One person a referral is about, with the result of matching them against the cases person index."""

    __tablename__ = "referral_people"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    ref: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    given_name: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(Text)
    upn: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    match_status: Mapped[str] = mapped_column(Text)
    matched_person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    match_candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    identity_confirmed_by: Mapped[str | None] = mapped_column(Text)
    identity_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    identity_reason: Mapped[str | None] = mapped_column(Text)

    referral: Mapped[Referral] = relationship(lazy="raise", back_populates="people")

    __table_args__ = (
        UniqueConstraint("referral_id", "position", name="uq_referral_people_referral_id_position"),
        CheckConstraint(f"match_status IN ({_in(PERSON_MATCH_STATES)})", name="match_status"),
        CheckConstraint("role IN ('parent_carer', 'child', 'young_person', 'other_adult', 'unborn')", name="role"),
        Index("ix_referral_people_nhs_number", "nhs_number", postgresql_where=text("nhs_number IS NOT NULL")),
        Index("ix_referral_people_upn", "upn", postgresql_where=text("upn IS NOT NULL")),
    )


class StatusChange(Base):
    """The history of a referral's status: who moved it, when and why."""

    __tablename__ = "referral_status_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(Base):
    """A create request seen under an Idempotency-Key: its body hash and the response it got.

    The row is inserted (ON CONFLICT DO NOTHING) with its response by the statement that stores the referral,
    so a concurrent request with the same key waits on the unique index until the first commits, then replays
    its response.
    """

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConsentWithdrawal(Base):
    """The family withdrew its consent to a referral: no further status webhooks go to the partner."""

    __tablename__ = "consent_withdrawals"

    referral_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True
    )
    withdrawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[str] = mapped_column(Text)
    """Who in the family withdrew it, as the recorder wrote it."""
    method: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


DISTRICT_PATTERN = r"^[A-Z]{1,2}[0-9][0-9A-Z]?$"
HUB_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


class HubDistrict(Base):
    """One postcode district (outward code) and the hub that takes its referrals: the council's mapping, loaded by
    an admin (`PUT /v1/admin/hub-mapping`, `earlyhelp hubs load`) and read by every new referral."""

    __tablename__ = "hub_districts"

    district: Mapped[str] = mapped_column(Text, primary_key=True)
    hub: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"district ~ '{DISTRICT_PATTERN}'", name="district"),
        CheckConstraint(f"hub ~ '{HUB_PATTERN}'", name="hub"),
    )
