"""Every query of intake: the one-statement insert of a referral (with its Idempotency-Key), pending matching."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Executable, Table, bindparam, exists, func, insert, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from referrals.models import Base, HubDistrict, IdempotencyKey, Referral, ReferralPerson, StatusChange, platform
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
    """The Idempotency-Key a create claims, with the request's hash and the response stored under it."""

    owner: str
    key: str
    request_hash: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Inserted:
    """What the intake statement did: the new referral's id (None when (agency, external_reference) exists or
    nothing was written), and whether it claimed the Idempotency-Key (False: another request holds it)."""

    referral_id: uuid.UUID | None
    claimed_key: bool


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

    async def hub_mapping_for(self, district: str | None) -> dict[str, str]:
        """The council's mapping (`hub_districts`) as far as `district` goes: {district: hub}, or empty."""
        if district is None:
            return {}
        hub = await self.session.scalar(select(HubDistrict.hub).where(HubDistrict.district == district))
        return {district: hub} if hub is not None else {}

    async def idempotency_key(self, owner: str, key: str) -> IdempotencyKey | None:
        """The request that holds this key, if any (read after the intake statement did not claim it)."""
        return (
            await self.session.execute(
                select(IdempotencyKey)
                .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def insert_referral(
        self,
        referral: dict[str, Any],
        people: list[dict[str, Any]],
        change: dict[str, Any],
        *,
        event: OutboxEvent,
        audit: AuditEntry,
        idempotent_response: IdempotentResponse | None = None,
    ) -> Inserted:
        """Insert a referral, its people, its first status, (when given) its Idempotency-Key with the response
        stored under it, its outbox event with the deliveries to internal subscribers, and its audit row: one
        statement, the request's one round trip for its write. Nothing but (perhaps) the referral row is written
        if (agency, external_reference) exists or the key is taken — see `Inserted`; the caller raises then, so
        the request's transaction rolls back.

        The key is inserted only with a new referral (`ON CONFLICT DO NOTHING`): a concurrent request with the
        same key waits on its unique index until the first commits, then finds it taken.
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
                "k_request_hash": idempotent_response.request_hash,
                "k_status_code": idempotent_response.status_code,
                "k_response_body": idempotent_response.body,
            }
        row = (await self.session.execute(statement, params)).one_or_none()
        if row is None:
            return Inserted(None, False)
        return Inserted(row[0], idempotent_response is None or bool(row[2]))

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
    claimed = None
    if store_response:
        # The key with the response, only beside a new referral: the request's claim and its stored answer.
        claimed = (
            pg_insert(keys)
            .from_select(
                ["owner", "key", "request_hash", "status_code", "response_body", "referral_id"],
                select(
                    bindparam("k_owner", type_=keys.c.owner.type),
                    bindparam("k_key", type_=keys.c.key.type),
                    bindparam("k_request_hash", type_=keys.c.request_hash.type),
                    bindparam("k_status_code", type_=keys.c.status_code.type),
                    bindparam("k_response_body", type_=keys.c.response_body.type),
                    created.c.id,
                ),
            )
            .on_conflict_do_nothing(index_elements=["owner", "key"])
            .returning(keys.c.owner)
            .cte("claimed")
        )
        ctes.append(claimed)
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
    claimed_count = select(func.count()).select_from(claimed).scalar_subquery() if claimed is not None else literal(1)
    return select(created.c.id, notified, claimed_count).add_cte(*ctes)
