"""A real PostgreSQL for tests: migrated template databases, committed clones and rolled-back sessions.

* `pg_server_url()` — `TEST_DATABASE_URL` when set, otherwise an embedded server (pgserver) in `.data/pgtest/`,
  kept apart from the `make run` data.
* `migrated_database()` — a fresh database migrated with Alembic (so every test run exercises the migrations),
  used as a template.
* `rollback_sessionmaker()` — sessions that commit into savepoints of one outer transaction, rolled back after the
  test: the application's commit logic runs unchanged and nothing persists.
* `clone_database()` — a committed copy of a template, for tests that need real concurrency.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import async_url, plain_url
from shared.migrate import upgrade, with_database

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA_DIR = REPO_ROOT / ".data" / "test"
_server: Any = None
MAX_CONNECTIONS = 300


def pg_server_url() -> str:
    """URL of the PostgreSQL server for tests (maintenance database)."""
    global _server
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    if _server is None:
        runtime = REPO_ROOT / ".data" / "runtime"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        TEST_DATA_DIR.mkdir(parents=True, exist_ok=True)
        _server = pgserver.get_server(str(REPO_ROOT / ".data" / "pgtest"), cleanup_mode="stop")
        # The whole-stack tests of two workers run up to twenty processes with their pools: more than the default
        # 100 connections. The setting takes effect at a start, so a server just made restarts once.
        if str(MAX_CONNECTIONS) not in _server.psql("SHOW max_connections;").split():
            _server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};")
            from pgserver._commands import pg_ctl

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_server.pgdata, user=_server.system_user)
            _server.ensure_postgres_running()
    return str(_server.get_uri())


async def _admin(server_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(plain_url(with_database(server_url, "postgres")), timeout=10)


async def drop_database(server_url: str, name: str) -> None:
    conn = await _admin(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrated_database(server_url: str, name: str, service_dir: Path) -> str:
    """Drop and recreate `name`, apply the service's migrations to head, return its URL."""
    await drop_database(server_url, name)
    conn = await _admin(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server_url, name)
    await asyncio.to_thread(upgrade, service_dir, url)
    return url


@asynccontextmanager
async def clone_database(server_url: str, template: str) -> AsyncIterator[str]:
    """A committed copy of a migrated template database, dropped afterwards."""
    name = f"{template}_{uuid.uuid4().hex[:8]}"
    conn = await _admin(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    try:
        yield with_database(server_url, name)
    finally:
        await drop_database(server_url, name)


@asynccontextmanager
async def rollback_sessionmaker(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions joined to one outer transaction that is rolled back when the block ends."""
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    async with engine.connect() as connection:
        outer = await connection.begin()
        factory = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield factory
        finally:
            await outer.rollback()
    await engine.dispose()
