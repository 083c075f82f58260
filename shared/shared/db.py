"""Async database engine and sessions; the request owns the transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import Depends, Request
from sqlalchemy import ClauseElement, FromClause, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.compiler import SQLCompiler

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A fresh MetaData with the project's constraint naming convention (one per service)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Normalise a PostgreSQL URL to the asyncpg driver."""
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def plain_url(url: str) -> str:
    """The same URL without a SQLAlchemy driver suffix, for asyncpg.connect."""
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


class Database:
    """One engine and session factory per process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        command_timeout: float = 30.0,
        pool_recycle: float = 1800,
        **engine_kwargs: Any,
    ) -> None:
        """`command_timeout`: the longest any one statement may run (asyncpg gives up on it after that).

        No `pool_pre_ping`: with asyncpg it costs three round trips on every checkout (BEGIN, a ping, ROLLBACK),
        on every request. A connection is replaced instead when it is older than `pool_recycle` seconds (before a
        server's or a proxy's idle limit ends it), and when a statement finds the database gone SQLAlchemy treats
        it as a disconnect: that connection and every other one opened before it are replaced on their next
        checkout, so after a database restart one request per process gets the 503 problem (with `Retry-After`,
        `shared.errors`) and the next ones get fresh connections.
        """
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=pool_recycle,
            # a failed statement's log line never carries its bound values (NHS numbers, names, addresses)
            hide_parameters=True,
            pool_timeout=5,
            connect_args={"timeout": 5, "command_timeout": command_timeout},
            **engine_kwargs,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session; commit after the handler returns, roll back on any error.

    Registered with `scope="function"`, so the commit happens before the response is sent: a client never
    sees a 2xx for something that was not stored.
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only session on the read replica when one is configured (else the primary), for reports."""
    factory: async_sessionmaker[AsyncSession] = (
        getattr(request.app.state, "read_sessionmaker", None) or request.app.state.sessionmaker
    )
    async with factory() as session:
        try:
            yield session
        finally:
            await session.rollback()  # nothing read here is ever written


ReadSessionDep = Annotated[AsyncSession, Depends(_read_session, scope="function")]
"""For read-heavy endpoints that write nothing (reports): served by the read replica when configured."""


def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return factory


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
"""The app's session factory, for work spread over several connections, each in its own transaction (the
outcomes service's sharded cohort evaluation). The request's own session is still `SessionDep`."""


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction, for what SQLAlchemy does not offer (COPY)."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def copy_rows(session: AsyncSession, table: FromClause, rows: Sequence[dict[str, Any]]) -> int:
    """COPY rows (dicts with the same keys) into `table` in the session's transaction: the bulk path for rows known
    to be new (demo data, imports). JSONB values are sent as JSON text. Returns the number of rows."""
    if not rows:
        return 0
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, JSONB)}
    records = [
        tuple(json.dumps(row[c], default=str) if c in as_json and row[c] is not None else row[c] for c in columns)
        for row in rows
    ]
    driver = await driver_connection(session)
    await driver.copy_records_to_table(table.description, records=records, columns=columns)
    return len(rows)


_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once to asyncpg's SQL (`$n` parameters) and run as driver SQL on the session's
    connection, in its transaction: for a hot path that runs the same statement on every request, where
    SQLAlchemy's per-execution work on the compiled statement (the cache lookup, parameter processing for every
    bind, the result wrapper) costs more than the statement's round trip. Bind by name as with `session.execute`;
    JSON parameters are serialised here (orjson) to the text the engine's JSONB codec takes.

    It runs through `exec_driver_sql`, not on the asyncpg connection itself: SQLAlchemy's asyncpg adapter begins
    the transaction (BEGIN) when its first statement runs, so a statement sent to the driver directly would run
    outside the request's transaction, committed on its own whatever the request does after.
    """

    sql: str
    names: tuple[str, ...]
    json: frozenset[str]
    constants: dict[str, Any]

    @classmethod
    def compile(cls, statement: ClauseElement) -> DriverStatement:
        compiled = statement.compile(dialect=_ASYNCPG)
        assert isinstance(compiled, SQLCompiler)
        names = tuple(compiled.positiontup or ())
        binds = compiled.binds
        return cls(
            sql=compiled.string,
            names=names,
            json=frozenset(n for n in names if isinstance(binds[n].type, sqltypes.JSON)),
            constants={n: binds[n].value for n in names},
        )

    def args(self, params: dict[str, Any]) -> tuple[Any, ...]:
        values = [params[n] if n in params else self.constants[n] for n in self.names]
        return tuple(
            orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode() if n in self.json and v is not None else v
            for n, v in zip(self.names, values, strict=True)
        )

    async def first(self, session: AsyncSession, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run in the session's transaction; the first row's values, if any."""
        connection = await session.connection()
        row = (await connection.exec_driver_sql(self.sql, self.args(params))).first()
        return None if row is None else tuple(row)
