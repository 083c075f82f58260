"""Apply a service's Alembic migrations programmatically (used by the CLI, the tests and readiness)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from shared.db import async_url, plain_url


def alembic_config(service_dir: Path, database_url: str) -> Config:
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(database_url).replace("%", "%%"))
    return config


def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service_dir, database_url), revision)


def downgrade(service_dir: Path, database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service_dir, database_url), revision)


def head_revisions(service_dir: Path) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(service_dir, "postgresql://unused/unused"))
    return set(script.get_heads())


async def ensure_database(server_url: str, name: str) -> bool:
    """Create database `name` on the server if it is missing. Returns True when it was created."""
    conn = await asyncpg.connect(plain_url(server_url), timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await conn.close()


def ensure_database_sync(server_url: str, name: str) -> bool:
    return asyncio.run(ensure_database(server_url, name))


def with_database(server_url: str, name: str) -> str:
    """The server URL pointing at another database (keeps host, socket and credentials)."""
    base, sep, query = server_url.partition("?")
    scheme, _, rest = base.partition("://")
    authority, _, _old = rest.partition("/")
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if sep else "")
