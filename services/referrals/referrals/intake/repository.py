"""Every query of intake: the one-statement insert of a referral (with its Idempotency-Key), pending matching."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Table,
    Text,
    and_,
    bindparam,
    column,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from referrals.intake.matching import MatchQuery
from referrals.models import Base, HubDistrict, IdempotencyKey, Referral, ReferralPerson, StatusChange, platform
from shared.db import DriverStatement
from shared.events import NOTIFY_CHANNEL, OutboxEvent, outbox_ctes

MATCHING_CHANNEL = "referrals_matching"
"""Notified by every new referral when its transaction commits: wakes the matching workers (`intake.match_worker`)."""

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
    nothing was written), whether it claimed the Idempotency-Key (False: another request holds it), and the hub
    the referral went to (its district's in `hub_districts`, else the one given)."""

    referral_id: uuid.UUID | None
    claimed_key: bool
    hub: str | None = None
    hub_defaulted: bool | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit row for the new referral, written by the intake statement (as `shared.audit.record_access`)."""

    actor: str
    action: str
    record_type: str
    purpose: str | None


@dataclass(frozen=True, slots=True)
class PendingPerson:
    """A person of a referral still to be matched: their `referral_people` id and what cases is asked."""

    id: uuid.UUID
    query: MatchQuery


@dataclass(frozen=True, slots=True)
class PendingReferral:
    id: uuid.UUID
    attempts: int
    people: list[PendingPerson]
    traceparent: str | None = None
    """The trace the referral was received in."""


@dataclass
class IntakeRepository:
    session: AsyncSession

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
        hub_district: str | None = None,
    ) -> Inserted:
        """Insert a referral, its people, its first status, (when given) its Idempotency-Key with the response
        stored under it, its outbox event with the deliveries to internal subscribers, and its audit row: one
        statement, the request's one round trip for its write. Nothing but (perhaps) the referral row is written
        if (agency, external_reference) exists or the key is taken — see `Inserted`; the caller raises then, so
        the request's transaction rolls back.

        The hub is allocated by the same statement: `referral["hub"]` (and `hub_defaulted`) hold unless
        `hub_district` is in the council's mapping (`hub_districts`), whose hub then replaces them in the row, the
        event's data and the stored response (`Inserted.hub`: the caller's response says the same).

        The key is inserted only with a new referral (`ON CONFLICT DO NOTHING`): a concurrent request with the
        same key waits on its unique index until the first commits, then finds it taken.
        """
        statement = _insert_referral_statement(tuple(referral), tuple(change), idempotent_response is not None)
        params: dict[str, Any] = {f"r_{name}": value for name, value in referral.items()}
        params["hub_district"] = hub_district
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
        row = await statement.first(self.session, params)
        if row is None:
            return Inserted(None, False)
        referral_id, _, claimed, _, hub, hub_defaulted = row
        return Inserted(referral_id, idempotent_response is None or bool(claimed), hub, hub_defaulted)

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

    async def claim_pending_matching(self, now: datetime, limit: int) -> list[PendingReferral]:
        """Referrals whose matching is pending and due, with their people still to match, locked (`FOR UPDATE SKIP
        LOCKED`) until the transaction ends, so that the workers of several replicas share them."""
        rows = (await self.session.execute(_CLAIM_PENDING, {"now": now, "limit": limit})).all()
        pending: dict[uuid.UUID, PendingReferral] = {}
        for row in rows:
            referral = pending.setdefault(
                row.referral_id,
                PendingReferral(row.referral_id, row.matching_attempts, [], row.matching_traceparent),
            )
            if row.id is not None:
                referral.people.append(
                    PendingPerson(
                        row.id,
                        MatchQuery(
                            row.given_name, row.family_name, row.date_of_birth, row.nhs_number, row.upn, row.postcode
                        ),
                    )
                )
        return list(pending.values())

    async def complete_matching(
        self, referral_ids: list[uuid.UUID], results: list[dict[str, Any]], now: datetime
    ) -> None:
        """Write each person's match (`id`, `match_status`, `matched_person_id`, `match_candidates`) and mark the
        referrals completed: once, only where matching is still pending."""
        if results:
            await self.session.execute(_WRITE_MATCHES, {"results": results})
        await self.session.execute(_COMPLETE_MATCHING, {"ids": referral_ids, "now": now})

    async def postpone_matching(self, referral_ids: list[uuid.UUID], now: datetime, *, interval: float) -> None:
        """Try these referrals again later: exponential backoff from `interval` seconds, at most a minute."""
        await self.session.execute(_POSTPONE_MATCHING, {"ids": referral_ids, "now": now, "interval": interval})

    async def flush(self) -> None:
        await self.session.flush()

    async def any_with_reference_prefix(self, prefix: str) -> bool:
        query = select(exists().where(Referral.external_reference.startswith(prefix, autoescape=True)))
        return bool((await self.session.execute(query)).scalar())


# --- intake statements ---------------------------------------------------------------------------------------
# Intake runs the same statement for every referral. It is built and compiled once, with named bind parameters,
# and executed with the request's values as driver SQL in the request's transaction (`shared.db.DriverStatement`):
# building and compiling it anew took most of an intake request's CPU, and
# SQLAlchemy's per-execution work on ~50 parameters cost more than the round trip itself.


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def _created_with_hub(referral_columns: tuple[str, ...]) -> tuple[CTE, CTE, ColumnElement[Any]]:
    """The referral insert (`created`: its id and hub) with the hub allocated in SQL: the district's in the
    council's mapping (`mapped`), else the one bound (the default hub, or a given one); and the allocation as JSON,
    merged into the event's data and the stored response."""
    referrals, districts = _table(Referral), _table(HubDistrict)
    mapped = select(districts.c.hub).where(districts.c.district == bindparam("hub_district", type_=Text)).cte("mapped")
    values: dict[str, Any] = {name: bindparam(f"r_{name}", type_=referrals.c[name].type) for name in referral_columns}
    values["hub"] = func.coalesce(select(mapped.c.hub).scalar_subquery(), values["hub"])
    values["hub_defaulted"] = and_(values["hub_defaulted"], ~exists(select(mapped.c.hub)))
    created = (
        pg_insert(referrals)
        .values(values)
        .on_conflict_do_nothing(constraint="uq_referrals_agency_external_reference")
        .returning(referrals.c.id, referrals.c.hub, referrals.c.hub_defaulted)
        .cte("created")
    )
    allocated = func.jsonb_build_object(
        "hub",
        select(created.c.hub).scalar_subquery(),
        "hub_defaulted",
        select(created.c.hub_defaulted).scalar_subquery(),
    )
    return mapped, created, allocated


def _claimed_key(created: CTE, allocated: ColumnElement[Any]) -> CTE:
    """The Idempotency-Key with the response, only beside a new referral: the request's claim and its stored
    answer (returns its owner when claimed)."""
    keys = _table(IdempotencyKey)
    return (
        pg_insert(keys)
        .from_select(
            ["owner", "key", "request_hash", "status_code", "response_body", "referral_id"],
            select(
                bindparam("k_owner", type_=keys.c.owner.type),
                bindparam("k_key", type_=keys.c.key.type),
                bindparam("k_request_hash", type_=keys.c.request_hash.type),
                bindparam("k_status_code", type_=keys.c.status_code.type),
                bindparam("k_response_body", type_=keys.c.response_body.type).op("||", return_type=JSONB)(allocated),
                created.c.id,
            ),
        )
        .on_conflict_do_nothing(index_elements=["owner", "key"])
        .returning(keys.c.owner)
        .cte("claimed")
    )


@cache
def _insert_referral_statement(
    referral_columns: tuple[str, ...], change_columns: tuple[str, ...], store_response: bool
) -> DriverStatement:
    changes = _table(StatusChange)
    mapped, created, allocated = _created_with_hub(referral_columns)
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
    claimed = _claimed_key(created, allocated) if store_response else None
    if claimed is not None:
        ctes.append(claimed)
    # The outbox event and its deliveries, as `shared.events.publish` writes them.
    event, delivered = outbox_ctes(
        platform,
        when=was_created,
        data=bindparam("e_data", type_=platform.outbox_events.c.data.type).op("||", return_type=JSONB)(allocated),
    )
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
    # Wakes the matching workers when the transaction commits (a notification is delivered only then).
    matching = select(func.count(func.pg_notify(MATCHING_CHANNEL, ""))).where(was_created).scalar_subquery()
    return DriverStatement.compile(
        select(created.c.id, notified, claimed_count, matching, created.c.hub, created.c.hub_defaulted).add_cte(
            mapped, *ctes
        )
    )


# --- matching statements -------------------------------------------------------------------------------------
_referrals, _people = _table(Referral), _table(ReferralPerson)
_claimed = (
    select(_referrals.c.id, _referrals.c.matching_attempts, _referrals.c.matching_traceparent)
    .where(
        _referrals.c.matching == "pending",
        or_(_referrals.c.matching_next_at.is_(None), _referrals.c.matching_next_at <= bindparam("now")),
    )
    .order_by(_referrals.c.matching_next_at.nulls_first(), _referrals.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
    .cte("claimed")
)
_CLAIM_PENDING = (
    select(
        _claimed.c.id.label("referral_id"),
        _claimed.c.matching_attempts,
        _claimed.c.matching_traceparent,
        *[_people.c[name] for name in ("id", "given_name", "family_name", "date_of_birth", "nhs_number", "upn")],
        _people.c.postcode,
    )
    .select_from(
        _claimed.outerjoin(_people, and_(_people.c.referral_id == _claimed.c.id, _people.c.match_status == "pending"))
    )
    .order_by(_claimed.c.id, _people.c.position)
)
_results = (
    func.jsonb_to_recordset(bindparam("results", type_=JSONB))
    .table_valued(
        column("id", PG_UUID(as_uuid=True)),
        column("match_status", Text),
        column("matched_person_id", PG_UUID(as_uuid=True)),
        column("match_candidates", JSONB),
    )
    .render_derived(name="results", with_types=True)
)
_WRITE_MATCHES = (
    update(_people)
    .values(
        match_status=_results.c.match_status,
        matched_person_id=_results.c.matched_person_id,
        match_candidates=_results.c.match_candidates,
    )
    .where(_people.c.id == _results.c.id, _people.c.match_status == "pending")
)
_pending_ids = and_(
    _referrals.c.id == func.any(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))),
    _referrals.c.matching == "pending",
)
_COMPLETE_MATCHING = (
    update(_referrals)
    .values(matching="completed", matching_next_at=None, updated_at=bindparam("now"))
    .where(_pending_ids)
)
_POSTPONE_MATCHING = (
    update(_referrals)
    .values(
        matching_attempts=_referrals.c.matching_attempts + 1,
        matching_next_at=bindparam("now", type_=DateTime(timezone=True))
        + func.make_interval(
            0,
            0,
            0,
            0,
            0,
            0,
            func.least(60.0, bindparam("interval", type_=Float) * func.power(2, _referrals.c.matching_attempts)),
        ),
    )
    .where(_pending_ids)
)
