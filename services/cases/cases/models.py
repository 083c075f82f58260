"""ORM models of the cases service, on its own MetaData.

The rules "one family, one plan, one worker" are partial unique indexes here, so that they hold whatever
the code does and however many requests run at once:
* `uq_cases_one_open_per_family` — at most one case per family whose status is not `closed`;
* `uq_lead_worker_assignments_one_current` — at most one current lead worker per case;
* `uq_plans_one_active` — at most one active plan version per case.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
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

MEMBER_ROLES = ("parent_carer", "child", "young_person", "other_adult", "unborn")
CASE_STATUSES = ("open", "assessment", "plan", "review", "closed")
CASE_OUTCOMES = ("needs_met", "stepped_up", "stepped_down", "moved_away", "disengaged", "other")
MERGED = "merged"
"""The outcome of a case closed because its family was merged into another (never chosen by a closure request)."""
ACTION_STATUSES = ("not_started", "in_progress", "done", "cancelled")
CONTACT_KINDS = ("visit", "call", "meeting", "message", "other")
WORKER_ROLES = ("practitioner", "hub_manager", "partner_practitioner")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)
retention = RetentionTables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class Hub(Base):
    __tablename__ = "hubs"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    hub: Mapped[str] = mapped_column(Text, ForeignKey("hubs.code"), index=True)
    name: Mapped[str] = mapped_column(Text)


class Worker(Base):
    """A practitioner or manager. `subject` is the `sub` claim of their token, linking a caller to a worker."""

    __tablename__ = "workers"
    __table_args__ = (
        CheckConstraint("caseload_cap >= 0", name="caseload_cap_non_negative"),
        CheckConstraint(_in("role", WORKER_ROLES), name="role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    subject: Mapped[str | None] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    agency: Mapped[str] = mapped_column(Text)
    agency_type: Mapped[str] = mapped_column(Text)
    hub: Mapped[str] = mapped_column(Text, ForeignKey("hubs.code"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("teams.id"), index=True)
    role: Mapped[str] = mapped_column(Text)
    caseload_cap: Mapped[int] = mapped_column(Integer, server_default=text("15"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Person(Base):
    """One person in the index. `*_key` columns are blocking keys for matching (see `cases.matching`)."""

    __tablename__ = "people"
    __table_args__ = (
        Index("uq_people_nhs_number", "nhs_number", unique=True, postgresql_where=text("nhs_number IS NOT NULL")),
        Index("uq_people_upn", "upn", unique=True, postgresql_where=text("upn IS NOT NULL")),
        # the date-of-birth block of matching, read from the index alone (migration cases_scale01)
        Index(
            "ix_people_block_dob",
            "date_of_birth",
            "family_key",
            postgresql_include=["id", "given_name", "family_name", "postcode", "nhs_number", "upn"],
            postgresql_where=text("merged_into_id IS NULL"),
        ),
        Index("ix_people_postcode_family_key", "postcode", "family_key"),
        Index("ix_people_postcode_given_key", "postcode", "given_key"),
        Index("ix_people_merged_into_id", "merged_into_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    given_name: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(Text)
    upn: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    given_key: Mapped[str] = mapped_column(Text)
    family_key: Mapped[str] = mapped_column(Text)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonMerge(Base):
    """A merge of `merged_id` into `survivor_id`; `moved` lists what was re-pointed, so undo is exact."""

    __tablename__ = "person_merges"
    __table_args__ = (
        CheckConstraint("survivor_id <> merged_id", name="distinct_people"),
        Index("uq_person_merges_one_live", "merged_id", unique=True, postgresql_where=text("undone_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survivor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(Text)
    merged_by: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    moved: Mapped[dict[str, Any]] = mapped_column(JSONB)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(Text)
    undo_reason: Mapped[str | None] = mapped_column(Text)


class FamilyMerge(Base):
    """A merge of family `merged_id` into `survivor_id`; `moved` lists every row it changed, so undo is exact."""

    __tablename__ = "family_merges"
    __table_args__ = (
        CheckConstraint("survivor_id <> merged_id", name="distinct_families"),
        Index("uq_family_merges_one_live", "merged_id", unique=True, postgresql_where=text("undone_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survivor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("families.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("families.id"))
    reason: Mapped[str] = mapped_column(Text)
    merged_by: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    moved: Mapped[dict[str, Any]] = mapped_column(JSONB)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(Text)
    undo_reason: Mapped[str | None] = mapped_column(Text)


class Family(Base):
    __tablename__ = "families"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text, index=True)
    hub: Mapped[str] = mapped_column(Text, ForeignKey("hubs.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FamilyMember(Base):
    """Membership over time. An `unborn` member has no person yet, only an expected date."""

    __tablename__ = "family_members"
    __table_args__ = (
        CheckConstraint(_in("role", MEMBER_ROLES), name="role"),
        CheckConstraint(
            "(role = 'unborn' AND expected_on IS NOT NULL) OR (role <> 'unborn' AND person_id IS NOT NULL)",
            name="person_or_unborn",
        ),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joined"),
        Index(
            "uq_family_members_one_current",
            "family_id",
            "person_id",
            unique=True,
            postgresql_where=text("left_on IS NULL AND person_id IS NOT NULL"),
        ),
        Index("ix_family_members_person_id", "person_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("families.id"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(Text)
    expected_on: Mapped[date | None] = mapped_column(Date)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    left_reason: Mapped[str | None] = mapped_column(Text)


class FamilyRelationship(Base):
    """`person_id` is `kind` of `related_person_id` (e.g. parent of, sibling of, partner of)."""

    __tablename__ = "family_relationships"
    __table_args__ = (
        UniqueConstraint("family_id", "person_id", "related_person_id", "kind", name="uq_family_relationships_pair"),
        CheckConstraint("person_id <> related_person_id", name="distinct_people"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("families.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"))
    related_person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(Text)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', (*CASE_OUTCOMES, MERGED))}", name="outcome"),
        CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL AND outcome IS NOT NULL)", name="closed_fields"),
        Index(
            "uq_cases_one_open_per_family",
            "family_id",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
        ),
        Index("ix_cases_family_id", "family_id"),
        Index("ix_cases_hub_status", "hub", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("families.id"))
    hub: Mapped[str] = mapped_column(Text, ForeignKey("hubs.code"))
    status: Mapped[str] = mapped_column(Text, server_default="open")
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    opened_by: Mapped[str] = mapped_column(Text)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    closure_reason: Mapped[str | None] = mapped_column(Text)


class CaseReferral(Base):
    """Every referral that opened or joined a case (a referral belongs to one case, once)."""

    __tablename__ = "case_referrals"

    referral_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"), index=True)
    joined: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CaseStep(Base):
    """A step up to children's social care or a step down to early help, with who and why."""

    __tablename__ = "case_steps"
    __table_args__ = (CheckConstraint("direction IN ('up', 'down')", name="direction"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(Text)
    on_date: Mapped[date] = mapped_column(Date)
    agency: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)


class LeadWorkerAssignment(Base):
    __tablename__ = "lead_worker_assignments"
    __table_args__ = (
        Index(
            "uq_lead_worker_assignments_one_current",
            "case_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_lead_worker_assignments_case_id", "case_id", "assigned_at"),
        Index(
            "ix_lead_worker_assignments_current_worker",
            "worker_id",
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("workers.id"))
    reason: Mapped[str] = mapped_column(Text)
    assigned_by: Mapped[str] = mapped_column(Text)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cap_overridden: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"), index=True)
    framework: Mapped[str] = mapped_column(Text)
    framework_version: Mapped[str] = mapped_column(Text)
    needs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    need_codes: Mapped[list[str]] = mapped_column(JSONB)
    strengths: Mapped[str | None] = mapped_column(Text)
    family_views: Mapped[str | None] = mapped_column(Text)
    child_voice: Mapped[str | None] = mapped_column(Text)
    eligible: Mapped[bool] = mapped_column(Boolean)
    eligibility_reasons: Mapped[list[str]] = mapped_column(JSONB)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Plan(Base):
    """One version of a family plan; each change inserts a new version and retires the old one."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("case_id", "version", name="uq_plans_case_version"),
        Index("uq_plans_one_active", "case_id", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    team: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    review_dates: Mapped[list[str]] = mapped_column(JSONB)
    next_review_due: Mapped[date] = mapped_column(Date)
    change_summary: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TeamAroundFamily(Base):
    """Workers in the team around the family of the case's active plan (for access checks and lookups)."""

    __tablename__ = "team_around_family"
    __table_args__ = (UniqueConstraint("case_id", "worker_id", name="uq_team_around_family_case_worker"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"))
    worker_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("workers.id"), index=True)
    role: Mapped[str] = mapped_column(Text)


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    reviewed_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    progress: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    next_review_due: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(_in("kind", CONTACT_KINDS), name="kind"),
        Index("ix_contacts_case_id", "case_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonErasure(Base):
    """A person erased on request (Art. 17): who asked, why and when; the person row is kept anonymised."""

    __tablename__ = "person_erasures"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    erased_by: Mapped[str] = mapped_column(Text)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonRectification(Base):
    """One correction of a person's details (Art. 16), with the values before and after: the history."""

    __tablename__ = "person_rectifications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("people.id"), index=True)
    before: Mapped[dict[str, Any]] = mapped_column(JSONB)
    after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    rectified_by: Mapped[str] = mapped_column(Text)
    rectified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConsentWithdrawal(Base):
    """A family's withdrawal of consent to a referral, as referrals announced it: a flag on the case."""

    __tablename__ = "consent_withdrawals"

    referral_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    withdrawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
