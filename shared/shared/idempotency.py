"""`Idempotency-Key` on creates (DESIGN.md §5): the same key and body replay the first response, the same key with a
different body is refused, concurrent duplicates create once.

A service declares the table on its MetaData (`idempotency_table(Base.metadata)`), creates it in a migration
(an `op.create_table` of the same columns) and gives its create endpoints the dependency:

    Idempotent = Annotated[Idempotency, Depends(idempotency(idempotency_keys))]

    @router.post("/families", status_code=201)
    async def create_family(body: FamilyCreate, idempotent: Idempotent, …) -> FamilyRead:
        return await idempotent.run(FamilyRead, lambda: service.create_family(body, caller))

The key's row is inserted in the request's own transaction before the work, `ON CONFLICT DO NOTHING`: a concurrent
request with the same key waits on the primary key until the first commits and then replays its response. When the
first request fails, its transaction and the key roll back together, so the client may retry with the same key.
Keys belong to the caller (token subject); two callers may use the same key, and neither ever gets the other's
stored response. A replay hands back what the first response held — personal data, often — so it is written to the
service's access log as a read of the record (`purpose` "idempotent replay"). A key lives 24 hours (`RETENTION`):
the stored response holds personal data, so `purge_loop` (a background task of the service) deletes expired
keys. (The referrals service's intake writes its key inside its one-statement insert, `referrals.repository`, for
speed; same semantics, same purge.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import orjson
import structlog
from fastapi import FastAPI, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, SmallInteger, Table, Text, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import BadRequest, Conflict, UnprocessableContent, field_error

KEY = re.compile(r"[A-Za-z0-9._:-]{8,128}")
"""A valid `Idempotency-Key` (use `fullmatch`): 8 to 128 letters, digits, `-`, `_`, `.` or `:` — a UUID fits, and so
does a client's own record reference; a short key such as `abc` is refused because two drafts would soon share it."""
KEY_RULE = "Idempotency-Key must be 8 to 128 characters of A-Z, a-z, 0-9, '-', '_', '.' or ':' (a UUID is a good key)"
"""What the 400 for a malformed key says (every service, and the gateway as a user error)."""
KEY_SCHEMA: dict[str, Any] = {"minLength": 8, "maxLength": 128, "pattern": "^[A-Za-z0-9._:-]{8,128}$"}
"""The key's rule in OpenAPI (checked in code, so a malformed key is a 400, not a 422)."""
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
log = structlog.get_logger("shared.idempotency")
M = TypeVar("M", bound=BaseModel)


def idempotency_table(metadata: MetaData) -> Table:
    """The keys seen on creates, with the hash of their request and the response it got."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("owner", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("request_hash", Text, nullable=False),
        Column("status_code", SmallInteger, nullable=True),
        Column("response_body", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def request_digest(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, path and JSON body in canonical form (key order and spacing do not matter)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


@dataclass
class Idempotency:
    """One request's view of its `Idempotency-Key` (`key` is None when the client sent none)."""

    table: Table
    session: AsyncSession
    owner: str
    key: str | None
    digest: str
    status_code: int
    response: Response
    actor: str = ""
    """How the access log names the caller (`Principal.actor`)."""

    async def run(self, model: type[M], create: Callable[[], Awaitable[Any]]) -> M:
        """The result of `create()` as a `model` (read from its attributes when it is a row), or — for a key seen
        before with the same request — the first response."""
        if self.key is None:
            return self._as(model, await create())
        t = self.table
        claimed = await self.session.execute(
            insert(t)
            .values(owner=self.owner, key=self.key, request_hash=self.digest)
            .on_conflict_do_nothing()
            .returning(t.c.key)
        )
        if claimed.scalar_one_or_none() is None:
            replayed = self._replay(model, await self._earlier())
            await self._audit_replay(model, replayed)
            return replayed
        result = self._as(model, await create())
        body = jsonable_encoder(result)
        await self.session.execute(
            update(t)
            .where(t.c.owner == self.owner, t.c.key == self.key)
            .values(status_code=self.status_code, response_body=body)
        )
        return result

    @staticmethod
    def _as(model: type[M], result: Any) -> M:
        return result if isinstance(result, model) else model.model_validate(result, from_attributes=True)

    async def _earlier(self) -> Any:
        t = self.table
        return (await self.session.execute(select(t).where(t.c.owner == self.owner, t.c.key == self.key))).one()

    async def _audit_replay(self, model: type[BaseModel], replayed: BaseModel) -> None:
        """The access-log row of a replay, as a read of the record the first response created."""
        audit_log = self.table.metadata.tables.get("audit_log")
        if audit_log is None:
            return
        record_id = getattr(replayed, "id", None) or self.key
        row = {
            "actor": self.actor,
            "action": "read",
            "record_type": record_type_of(model),
            "record_id": str(record_id),
            "purpose": "idempotent replay",
            "details": None,
            "hash": "",  # set by the chain's trigger
        }
        await self.session.execute(audit_log.insert(), [row])

    def _replay(self, model: type[M], earlier: Any) -> M:
        if earlier.request_hash != self.digest:
            raise UnprocessableContent(
                "This Idempotency-Key was used with a different request; use a new key for a new create",
                errors=[
                    field_error("#header/Idempotency-Key", "reused with a different body", "idempotency_key_reused")
                ],
            )
        if earlier.status_code is None or earlier.response_body is None:
            raise Conflict("A request with this Idempotency-Key is still being processed")
        self.response.status_code = earlier.status_code
        self.response.headers[REPLAYED_HEADER] = "true"
        return model.model_validate(earlier.response_body)


def record_type_of(model: type[BaseModel]) -> str:
    """The access log's name for what a response model describes: `FamilyRead` → `family`,
    `LeadWorkerAssignmentRead` → `lead_worker_assignment`."""
    name = re.sub(r"(Read|Created|Response)$", "", model.__name__) or model.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def idempotency(table: Table) -> Callable[..., Awaitable[Idempotency]]:
    """The FastAPI dependency for create endpoints of a service whose keys live in `table`."""

    async def dependency(
        request: Request,
        response: Response,
        session: SessionDep,
        principal: CurrentPrincipal,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="Retry-safe creates: the same key and body replay the first response (8 to 128 letters, "
                "digits, `-`, `_`, `.` or `:`, unique per create, e.g. a UUID)",
                json_schema_extra=KEY_SCHEMA,  # checked below: a 400
            ),
        ] = None,
    ) -> Idempotency:
        if idempotency_key is not None and not KEY.fullmatch(idempotency_key):
            raise BadRequest(KEY_RULE)
        route = request.scope.get("route")
        status_code = getattr(route, "status_code", None) or 200
        digest = request_digest(request.method, request.url.path, await request.body()) if idempotency_key else ""
        return Idempotency(
            table=table,
            session=session,
            owner=principal.sub,
            key=idempotency_key,
            digest=digest,
            status_code=status_code,
            response=response,
            actor=principal.actor,
        )

    return dependency


async def purge_expired(session: AsyncSession, table: Table) -> int:
    """Delete keys older than `RETENTION`; the number deleted. (The table stays a day's worth of rows.)"""
    result = await session.execute(delete(table).where(table.c.created_at < func.now() - RETENTION))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_loop(table: Table) -> Callable[[FastAPI, asyncio.Event], Coroutine[Any, Any, None]]:
    """A background task for `create_service_app(background_tasks=…)`: `purge_expired` every
    `idempotency_purge_interval` seconds (0 turns it off; every replica runs it, concurrent deletes are harmless)."""

    async def run(app: FastAPI, stop: asyncio.Event) -> None:
        interval = float(app.state.settings.idempotency_purge_interval)
        while interval > 0 and not stop.is_set():
            try:
                # the service's own pool, like the outbox relay (not a sessionmaker a test may have swapped in)
                async with app.state.db.sessionmaker() as session, session.begin():
                    purged = await purge_expired(session, table)
                if purged:
                    log.info("idempotency_keys_purged", count=purged)
            except Exception as exc:  # the database may be down; try again next time
                log.warning("idempotency_purge_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    return run
