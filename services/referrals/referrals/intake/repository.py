"""Every query of intake: the Idempotency-Key claim, the one-statement insert of a referral, pending matching."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Executable, Table, bindparam, exists, func, insert, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from referrals.models import Base, IdempotencyKey, Referral, ReferralPerson, StatusChange, platform
from shared.events import NOTIFY_CHANNEL, OutboxEvent, outbox_ctes

PERSON_COLUMNS = tuple(c.name for c in ReferralPerson.__table__.columns)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A referral_people row as JSON for `jsonb_populate_recordset` (UUIDs and dates as their text forms)."""
    return {
        name: str(value) if isinstance(value, uuid.UUID) else value.isoformat() if isinstance(value, date) else value
        for name, value in row.items()
        if name in PERSON_COLUMNS
    }


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


@dataclass
class IntakeRepository:
    session: AsyncSession

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

    async def submitter_of(self, referral_id: uuid.UUID) -> str | None:
        """The token subject that submitted a referral (`created_by`)."""
        query = select(Referral.created_by).where(Referral.id == referral_id)
        return (await self.session.execute(query)).scalar_one_or_none()

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

    async def flush(self) -> None:
        await self.session.flush()

    async def any_with_reference_prefix(self, prefix: str) -> bool:
        query = select(exists().where(Referral.external_reference.startswith(prefix, autoescape=True)))
        return bool((await self.session.execute(query)).scalar())


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
