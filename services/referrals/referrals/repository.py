"""Every query of the referrals service. Methods take domain arguments; the request owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Executable,
    Table,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from referrals.models import (
    OPEN_STATUSES,
    Base,
    IdempotencyKey,
    Referral,
    ReferralPerson,
    StatusChange,
    platform,
)
from referrals.working_days import LONDON
from shared.events import NOTIFY_CHANNEL, OutboxEvent, outbox_ctes

LONDON_DAY = timedelta(days=1)
PERSON_COLUMNS = tuple(c.name for c in ReferralPerson.__table__.columns)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A referral_people row as JSON for `jsonb_populate_recordset` (UUIDs and dates as their text forms)."""
    return {
        name: str(value) if isinstance(value, uuid.UUID) else value.isoformat() if isinstance(value, date) else value
        for name, value in row.items()
        if name in PERSON_COLUMNS
    }


@dataclass(frozen=True, slots=True)
class ReadScope:
    """Which referrals a caller may see: everything, or those of some agencies and/or some hubs."""

    everything: bool = False
    agencies: tuple[str, ...] = ()
    hubs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferralFilters:
    status: Sequence[str] = ()
    kind: str | None = None
    hub: str | None = None
    agency: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    breached: bool | None = None
    safeguarding_concern: bool | None = None
    matching: str | None = None
    ids: Sequence[uuid.UUID] = ()
    family_ids: Sequence[uuid.UUID] = ()


@dataclass(frozen=True, slots=True)
class IdempotentResponse:
    owner: str
    key: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit row for the new referral, written by the intake statement (as `shared.audit.record_access`)."""

    actor: str
    action: str
    record_type: str
    purpose: str | None


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """Keyset cursor position in the triage order: safeguarding first, then oldest first."""

    safeguarding_concern: bool
    received_at: datetime
    id: uuid.UUID


@dataclass
class ReferralRepository:
    session: AsyncSession

    # --- idempotency ---------------------------------------------------------------------------------------

    async def claim_idempotency_key(self, owner: str, key: str, request_hash: str) -> IdempotencyKey | None:
        """Insert the key; None when this request claimed it, else the row of the request that did.

        A concurrent request with the same key blocks on the primary key until the first one commits (then
        this returns its row) or rolls back (then this request claims the key).
        """
        claimed = (
            await self.session.execute(
                _claim_key_statement(), {"owner": owner, "key": key, "request_hash": request_hash}
            )
        ).scalar_one_or_none()
        if claimed is not None:
            return None
        return (
            await self.session.execute(
                select(IdempotencyKey)
                .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()

    # --- referrals ------------------------------------------------------------------------------------------

    async def insert_referral(
        self,
        referral: dict[str, Any],
        people: list[dict[str, Any]],
        change: dict[str, Any],
        *,
        event: OutboxEvent,
        audit: AuditEntry,
        idempotent_response: IdempotentResponse | None = None,
    ) -> bool:
        """Insert a referral, its people, its first status, (when given) the response stored under its
        Idempotency-Key, its outbox event with the deliveries to internal subscribers, and its audit row, in one
        statement; False (and nothing written) if (agency, external_reference) exists.
        """
        statement = _insert_referral_statement(tuple(referral), tuple(change), idempotent_response is not None)
        params: dict[str, Any] = {f"r_{name}": value for name, value in referral.items()}
        params |= {f"c_{name}": value for name, value in change.items()}
        params["people"] = [_json_row(row) for row in people]
        params |= event.params()
        params |= {
            "a_actor": audit.actor,
            "a_action": audit.action,
            "a_record_type": audit.record_type,
            "a_record_id": str(referral["id"]),
            "a_purpose": audit.purpose,
        }
        if idempotent_response is not None:
            params |= {
                "k_owner": idempotent_response.owner,
                "k_key": idempotent_response.key,
                "k_status_code": idempotent_response.status_code,
                "k_response_body": idempotent_response.body,
                "k_referral_id": referral["id"],
            }
        return (await self.session.execute(statement, params)).scalar_one_or_none() is not None

    async def referral_id_for(self, agency: str, external_reference: str) -> uuid.UUID | None:
        return (
            await self.session.execute(
                select(Referral.id).where(Referral.agency == agency, Referral.external_reference == external_reference)
            )
        ).scalar_one_or_none()

    async def get(self, referral_id: uuid.UUID, scope: ReadScope, *, for_update: bool = False) -> Referral | None:
        query = (
            select(Referral)
            .where(Referral.id == referral_id, visible_to(scope))
            .options(selectinload(Referral.people), selectinload(Referral.history))
            .execution_options(populate_existing=True)
        )
        if for_update:
            query = query.with_for_update(of=Referral)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def search(
        self,
        scope: ReadScope,
        filters: ReferralFilters,
        *,
        limit: int,
        after: QueuePosition | None = None,
        now: datetime,
    ) -> list[Referral]:
        conditions: list[ColumnElement[bool]] = [visible_to(scope)]
        if filters.ids:
            conditions.append(Referral.id.in_(list(filters.ids)))
        if filters.family_ids:
            conditions.append(Referral.family_id.in_(list(filters.family_ids)))
        if filters.status:
            conditions.append(Referral.status.in_(list(filters.status)))
        if filters.kind:
            conditions.append(Referral.kind == filters.kind)
        if filters.hub:
            conditions.append(Referral.hub == filters.hub)
        if filters.agency:
            conditions.append(Referral.agency == filters.agency)
        if filters.received_from:
            conditions.append(Referral.received_at >= _day_start(filters.received_from))
        if filters.received_to:
            conditions.append(Referral.received_at < _day_start(filters.received_to) + LONDON_DAY)
        if filters.breached is not None:
            expression = breached_expression(now)
            conditions.append(expression if filters.breached else ~expression)
        if filters.safeguarding_concern is not None:
            conditions.append(Referral.safeguarding_concern.is_(filters.safeguarding_concern))
        if filters.matching:
            conditions.append(Referral.matching == filters.matching)
        if after is not None:
            # ORDER BY safeguarding_concern DESC, received_at, id
            flag = literal(after.safeguarding_concern, Boolean)
            conditions.append(
                or_(
                    Referral.safeguarding_concern < flag,
                    and_(
                        Referral.safeguarding_concern == flag,
                        func.row(Referral.received_at, Referral.id) > func.row(after.received_at, after.id),
                    ),
                )
            )
        query = (
            select(Referral)
            .where(*conditions)
            .order_by(Referral.safeguarding_concern.desc(), Referral.received_at, Referral.id)
            .limit(limit)
            .options(selectinload(Referral.people), selectinload(Referral.history))
        )
        return list((await self.session.execute(query)).scalars().all())

    async def add_status_change(
        self, referral: Referral, *, to_status: str, at: datetime, by: str, reason: str | None
    ) -> StatusChange:
        change = StatusChange(
            referral_id=referral.id,
            from_status=referral.status,
            to_status=to_status,
            changed_at=at,
            changed_by=by,
            reason=reason,
        )
        self.session.add(change)
        referral.history.append(change)
        referral.status = to_status
        referral.updated_at = at
        await self.session.flush()
        return change

    async def flush(self) -> None:
        await self.session.flush()

    async def link_case(self, referral_id: uuid.UUID, *, family_id: uuid.UUID, case_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(family_id=family_id, case_id=case_id, updated_at=func.now())
            .returning(Referral.id)
        )
        return result.scalar_one_or_none() is not None

    async def due_for_matching(self, now: datetime, limit: int) -> list[Referral]:
        """Referrals whose matching is pending and due, locked so that replicas share the work."""
        query = (
            select(Referral)
            .where(
                Referral.matching == "pending",
                or_(Referral.matching_next_at.is_(None), Referral.matching_next_at <= now),
            )
            .order_by(Referral.matching_next_at.nulls_first(), Referral.id)
            .limit(limit)
            .with_for_update(of=Referral, skip_locked=True)
            .options(selectinload(Referral.people))
        )
        return list((await self.session.execute(query)).scalars().all())

    async def any_with_reference_prefix(self, prefix: str) -> bool:
        query = select(exists().where(Referral.external_reference.startswith(prefix, autoescape=True)))
        return bool((await self.session.execute(query)).scalar())

    # --- partner webhooks (the shared outbox tables) --------------------------------------------------------

    async def create_subscription(self, values: dict[str, Any]) -> dict[str, Any]:
        subs = platform.event_subscriptions
        row = (await self.session.execute(insert(subs).values(**values).returning(*subs.c))).one()
        return dict(row._mapping)

    async def subscriptions(self, owner_agency: str | None) -> list[dict[str, Any]]:
        subs = platform.event_subscriptions
        query = select(subs).where(subs.c.active, subs.c.owner_agency.is_not(None))
        if owner_agency is not None:
            query = query.where(subs.c.owner_agency == owner_agency)
        rows = (await self.session.execute(query.order_by(subs.c.created_at, subs.c.id))).all()
        return [dict(r._mapping) for r in rows]

    async def subscription(self, subscription_id: uuid.UUID, owner_agency: str | None) -> dict[str, Any] | None:
        subs = platform.event_subscriptions
        query = select(subs).where(subs.c.id == subscription_id, subs.c.active, subs.c.owner_agency.is_not(None))
        if owner_agency is not None:
            query = query.where(subs.c.owner_agency == owner_agency)
        row = (await self.session.execute(query)).one_or_none()
        return dict(row._mapping) if row else None

    async def deactivate_subscription(self, subscription_id: uuid.UUID) -> None:
        subs, deliveries = platform.event_subscriptions, platform.outbox_deliveries
        await self.session.execute(update(subs).where(subs.c.id == subscription_id).values(active=False))
        # Nothing more goes to a deleted webhook: pending deliveries are dead-lettered, history is kept.
        await self.session.execute(
            update(deliveries)
            .where(deliveries.c.subscription_id == subscription_id, deliveries.c.status == "pending")
            .values(status="dead", last_error="webhook deleted")
        )

    async def deliveries(
        self, subscription_id: uuid.UUID, *, limit: int, before_id: int | None
    ) -> list[dict[str, Any]]:
        d, e, a = platform.outbox_deliveries, platform.outbox_events, platform.delivery_attempts
        query = (
            select(
                d.c.id,
                d.c.event_id,
                e.c.type.label("event_type"),
                d.c.subject,
                d.c.status,
                d.c.attempts,
                d.c.created_at,
                d.c.next_attempt_at,
                d.c.delivered_at,
                d.c.last_status_code,
                d.c.last_error,
            )
            .join(e, e.c.id == d.c.event_id)
            .where(d.c.subscription_id == subscription_id)
            .order_by(d.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(d.c.id < before_id)
        rows = [dict(r._mapping) for r in (await self.session.execute(query)).all()]
        ids = [r["id"] for r in rows]
        attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            found = await self.session.execute(
                select(a.c.delivery_id, a.c.attempted_at, a.c.status_code, a.c.error, a.c.duration_ms)
                .where(a.c.delivery_id.in_(ids))
                .order_by(a.c.id)
            )
            for attempt in found.all():
                values = dict(attempt._mapping)
                attempts[values.pop("delivery_id")].append(values)
        for row in rows:
            row["attempt_log"] = attempts[row["id"]]
        return rows


# --- intake statements ---------------------------------------------------------------------------------------
# Intake runs the same two statements for every referral. They are built once, with named bind parameters, and
# executed with the request's values: building and compiling them anew took most of an intake request's CPU
# (a multi-row VALUES in particular is never cached by SQLAlchemy). Core tables, not ORM entities, so no ORM
# bulk-persistence machinery runs either.


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


@cache
def _claim_key_statement() -> Executable:
    keys = _table(IdempotencyKey)
    return (
        pg_insert(keys)
        .values(owner=bindparam("owner"), key=bindparam("key"), request_hash=bindparam("request_hash"))
        .on_conflict_do_nothing(index_elements=["owner", "key"])
        .returning(keys.c.owner)
    )


@cache
def _insert_referral_statement(
    referral_columns: tuple[str, ...], change_columns: tuple[str, ...], store_response: bool
) -> Executable:
    referrals, changes, keys = _table(Referral), _table(StatusChange), _table(IdempotencyKey)
    created = (
        pg_insert(referrals)
        .values({name: bindparam(f"r_{name}", type_=referrals.c[name].type) for name in referral_columns})
        .on_conflict_do_nothing(constraint="uq_referrals_agency_external_reference")
        .returning(referrals.c.id)
        .cte("created")
    )
    was_created = exists(select(created.c.id))
    # The people arrive as one JSON array expanded by `jsonb_populate_recordset` into referral_people rows,
    # so the statement is the same whatever the number of people.
    rows = func.jsonb_populate_recordset(
        literal_column(f"NULL::{ReferralPerson.__tablename__}"), bindparam("people", type_=JSONB)
    ).table_valued(*PERSON_COLUMNS, name="person_rows")
    ctes = [
        insert(_table(ReferralPerson))
        .from_select(list(PERSON_COLUMNS), select(*[rows.c[name] for name in PERSON_COLUMNS]).where(was_created))
        .cte("people"),
        insert(changes)
        .from_select(
            list(change_columns),
            select(*[bindparam(f"c_{name}", type_=changes.c[name].type) for name in change_columns]).where(was_created),
        )
        .cte("first_status"),
    ]
    if store_response:
        ctes.append(
            update(keys)
            .where(keys.c.owner == bindparam("k_owner"), keys.c.key == bindparam("k_key"), was_created)
            .values(
                status_code=bindparam("k_status_code", type_=keys.c.status_code.type),
                response_body=bindparam("k_response_body", type_=keys.c.response_body.type),
                referral_id=bindparam("k_referral_id", type_=keys.c.referral_id.type),
            )
            .cte("stored_response")
        )
    # The outbox event and its deliveries, as `shared.events.publish` writes them.
    event, delivered = outbox_ctes(platform, when=was_created)
    # Last, as in every write of this service: the audit chain trigger's lock is then held only until commit.
    audit_log = platform.audit_log
    audited = (
        insert(audit_log)
        .from_select(
            ["actor", "action", "record_type", "record_id", "purpose", "hash"],
            select(
                bindparam("a_actor", type_=audit_log.c.actor.type),
                bindparam("a_action", type_=audit_log.c.action.type),
                bindparam("a_record_type", type_=audit_log.c.record_type.type),
                bindparam("a_record_id", type_=audit_log.c.record_id.type),
                bindparam("a_purpose", type_=audit_log.c.purpose.type),
                literal(""),
            ).where(was_created),
        )
        .cte("audited")
    )
    ctes += [event, delivered, audited]
    notified = (
        select(func.count(func.pg_notify(NOTIFY_CHANNEL, "")))
        .select_from(select(delivered.c.id).limit(1).subquery())
        .scalar_subquery()
    )
    return select(created.c.id, notified).add_cte(*ctes)


def visible_to(scope: ReadScope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if scope.agencies:
        clauses.append(Referral.agency.in_(list(scope.agencies)))
    if scope.hubs:
        clauses.append(Referral.hub.in_(list(scope.hubs)))
    return or_(*clauses) if clauses else false()


def breached_expression(now: datetime) -> ColumnElement[bool]:
    """A decision is late when it was (or still is not) made by its due time; withdrawal stops the clock."""
    settled_at = func.coalesce(Referral.decided_at, Referral.withdrawn_at, now)
    expression: ColumnElement[bool] = (Referral.decision_due_at < settled_at).cast(Boolean)
    return expression


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)
