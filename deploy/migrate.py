"""Apply one service's Alembic migrations: the command of the compose `migrate-*` one-shots and of the
Kubernetes migration Jobs.

    python deploy/migrate.py referrals [--wait SECONDS]

The database URL is read as the service itself reads it: the variable `REFERRALS_DATABASE_URL` (…), or the file of
that name in `EARLYHELP_SECRETS_DIR` (Kubernetes mounts the Secret there), so the Job and the Deployment share one
Secret. The script waits for the server to accept connections, holds a PostgreSQL
advisory lock while it migrates (two Jobs, or a Job retried while the first still runs, never migrate at once; the
second finds the schema at head and does nothing), then upgrades to head with `shared.migrate.upgrade`.

(`alembic -c services/<svc>/alembic.ini upgrade head` alone would not work: the ini file holds no URL, the
shared Alembic env takes it from `shared.migrate.alembic_config`.)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import os
import sys
import time
from pathlib import Path

import asyncpg

SERVICES = ("referrals", "cases", "outcomes", "intelligence")


def lock_key(service: str) -> int:
    """A stable signed 64-bit advisory lock key per service."""
    return int.from_bytes(hashlib.sha256(f"earlyhelp-migrate:{service}".encode()).digest()[:8], "big", signed=True)


def service_dir(service: str) -> Path:
    config = importlib.import_module(f"{service}.config")
    directory: Path = config.SERVICE_DIR
    return directory


async def connect_with_retry(url: str, wait_seconds: float) -> asyncpg.Connection:
    from shared.db import plain_url

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await asyncpg.connect(plain_url(url), timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() >= deadline:
                raise SystemExit(f"migrate: database not reachable after {wait_seconds:.0f}s ({exc!r})") from exc
            print(f"migrate: waiting for the database ({type(exc).__name__})", file=sys.stderr, flush=True)
            await asyncio.sleep(1.0)


async def migrate(service: str, url: str, wait_seconds: float) -> None:
    conn = await connect_with_retry(url, wait_seconds)
    # imported once the database answers: a misconfigured Job fails fast, before the heavy imports
    from shared.migrate import head_revisions, upgrade

    directory = service_dir(service)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key(service))
        try:
            await asyncio.to_thread(upgrade, directory, url)
            current = {r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version")}
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key(service))
    finally:
        await conn.close()
    heads = head_revisions(directory)
    if current != heads:
        raise SystemExit(f"migrate: {service} is at {sorted(current)} after upgrade, expected {sorted(heads)}")
    print(f"migrate: {service} at head {sorted(current)}", flush=True)


def database_url(variable: str) -> str:
    """The variable, else the file named like it in EARLYHELP_SECRETS_DIR (pydantic-settings' `secrets_dir`)."""
    url = os.environ.get(variable, "")
    secrets = os.environ.get("EARLYHELP_SECRETS_DIR")
    if not url and secrets:
        path = Path(secrets) / variable
        if path.is_file():
            url = path.read_text(encoding="utf-8").strip()
    return url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Apply one service's migrations to head.")
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the database (default 60)")
    args = parser.parse_args(argv)
    variable = f"{args.service.upper()}_DATABASE_URL"
    url = database_url(variable)
    if not url:
        raise SystemExit(f"migrate: {variable} is not set (neither a variable nor a file in EARLYHELP_SECRETS_DIR)")
    asyncio.run(migrate(args.service, url, args.wait))


if __name__ == "__main__":
    main()
