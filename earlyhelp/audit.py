"""Verify the hash-chained access log of each service's database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from earlyhelp.platform import BY_NAME
from shared.audit import ChainReport, verify_chain
from shared.db import async_url
from shared.migrate import with_database


async def verify_all(server_url: str, services: list[str]) -> dict[str, ChainReport]:
    reports: dict[str, ChainReport] = {}
    for name in services:
        url = async_url(with_database(server_url, BY_NAME[name].database))
        engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
        try:
            async with engine.connect() as conn:
                reports[name] = await verify_chain(conn)
        finally:
            await engine.dispose()
    return reports
