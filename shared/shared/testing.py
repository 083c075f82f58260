"""Test support: a real PostgreSQL, migrated databases, rolled-back sessions, tokens and real processes.

* `pg_server_url()` — `TEST_DATABASE_URL` when set, otherwise an embedded server (pgserver) in
  `.data/pgtest/`, kept apart from the `make run` data.
* `migrated_database()` — a fresh database migrated with Alembic (so every test run exercises the
  migrations), used as a template.
* `rollback_sessionmaker()` — sessions that commit into savepoints of one outer transaction, rolled back
  after the test: the application's commit logic runs unchanged and nothing persists.
* `clone_database()` — a committed copy of a template, for tests that need real concurrency.
* `ServiceProcesses` — starts services as real processes (uvicorn) for end-to-end tests.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from shared.auth import ensure_dev_key, mint_token
from shared.db import async_url, plain_url
from shared.migrate import upgrade, with_database
from shared.settings import DEV_AUDIENCE, DEV_ISSUER

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA_DIR = REPO_ROOT / ".data" / "test"
TEST_KEY_PATH = TEST_DATA_DIR / "dev-signing-key.pem"
_server: Any = None


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
        _server.psql("ALTER SYSTEM SET max_connections = 300;")
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


@functools.cache
def _cached_key(path: Path) -> Any:
    """Loading the RSA key costs ~50 ms; tests mint many tokens."""
    return ensure_dev_key(path)


def make_token(
    *roles: str,
    sub: str | None = None,
    agency: str | None = None,
    agency_type: str | None = None,
    hubs: Iterable[str] = (),
    ttl_seconds: int = 3600,
    key_path: Path = TEST_KEY_PATH,
    **extra: Any,
) -> str:
    """A token signed by the tests' development key."""
    return mint_token(
        _cached_key(key_path),
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        sub=sub or f"test-{'-'.join(roles) or 'anon'}",
        roles=roles,
        agency=agency,
        agency_type=agency_type,
        hubs=hubs,
        ttl_seconds=ttl_seconds,
        extra=extra or None,
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    """One service run as a real process: `python -m uvicorn module:create_app --factory`."""

    name: str
    app: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [
            sys.executable, "-m", "uvicorn", self.app, "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; see {self.log_path}")


@dataclass
class ServiceProcesses:
    """A set of real service processes started together and stopped together."""

    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def add(
        self, name: str, app: str, env: Mapping[str, str], log_dir: Path, port: int | None = None
    ) -> ServiceProcess:
        process = ServiceProcess(name, app, port or free_port(), dict(env), log_dir / f"{name}.log")
        self.processes[name] = process
        return process

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    async def start(self, timeout: float = 40.0) -> None:
        for process in self.processes.values():
            process.start()
        await asyncio.gather(*(p.wait_ready(timeout) for p in self.processes.values()))

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def common_test_env(prefix: str, database_url: str, port: int) -> dict[str, str]:
    """Environment for a service process in tests, signed by the tests' key."""
    return {
        f"{prefix}_DATABASE_URL": database_url,
        f"{prefix}_PORT": str(port),
        f"{prefix}_ENVIRONMENT": "test",
        f"{prefix}_DEV_KEY_PATH": str(TEST_KEY_PATH),
        f"{prefix}_DATA_DIR": str(TEST_DATA_DIR),
        f"{prefix}_OUTBOX_POLL_INTERVAL": "0.1",
        f"{prefix}_OUTBOX_BACKOFF_BASE": "0.2",
        f"{prefix}_OUTBOX_BACKOFF_MAX": "2",
        f"{prefix}_RATE_LIMIT_PER_SECOND": "0",
    }


@asynccontextmanager
async def serve_asgi(
    app: Any, *, port: int | None = None, lifespan: Literal["auto", "on", "off"] = "off"
) -> AsyncIterator[str]:
    """Run an ASGI app (a stand-in receiver, peer or proxy) on a real loopback port with uvicorn, in this event
    loop; yields its base URL and stops it afterwards."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan=lifespan)
    )
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert not task.done(), "in-test server exited during start"
            assert time.monotonic() < deadline, "in-test server did not start in 20 s"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


@asynccontextmanager
async def app_client(
    create_app: Any,
    settings_cls: Any,
    database_url: str,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    **overrides: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for one service app, with its lifespan run and (optionally) a test sessionmaker."""
    from asgi_lifespan import LifespanManager

    defaults = {
        "environment": "test",
        "dev_key_path": TEST_KEY_PATH,
        "data_dir": TEST_DATA_DIR,
        # in-process apps do no background database work of their own (tests plug in their sessionmaker)
        "relay_enabled": False,
        "idempotency_purge_interval": 0,
    }
    settings = settings_cls(database_url=database_url, **(defaults | overrides))
    app = create_app(settings)
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
