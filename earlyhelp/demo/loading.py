"""How the demo is loaded: one transaction per service database, in chunks, reporting progress as it goes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from earlyhelp.platform import Part
from shared.db import async_url
from shared.migrate import with_database

Progress = Callable[[str, int, int], None]
"""`progress(phase, done, total)`: called as each part is loaded (referrals, cases, enrolments, observations)."""
PHASES = ("referrals", "cases", "enrolments", "observations")


def database_url(server_url: str, part: Part, urls: Mapping[str, str] | None) -> str:
    """The service's database: `urls[service]` when given, else `server_url` with the service's database name."""
    return (urls or {}).get(part.name) or with_database(server_url, part.database)


@asynccontextmanager
async def transaction(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(async_url(url), poolclass=NullPool, hide_parameters=True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items]
