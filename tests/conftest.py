"""Fixtures for the whole suite: one real PostgreSQL, one migrated template database per service.

Each service's tests get:
* `<service>_db` — URL of the migrated template (Alembic, not create_all), built once per run;
* `<service>_sessions` — a sessionmaker whose work is rolled back after the test;
* `<service>_client` — an in-process httpx client for the app, sharing that rolled-back transaction;
* `fresh_<service>_db` — a committed clone of the template, for concurrency tests (dropped afterwards).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import (
    app_client,
    clone_database,
    drop_database,
    migrated_database,
    pg_server_url,
    rollback_sessionmaker,
)

ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIRS = {name: ROOT / "services" / name for name in ("referrals", "cases", "outcomes", "intelligence")}


def pytest_configure(config: pytest.Config) -> None:
    """The embedded server starts once, in the controlling process, before any xdist worker: the workers inherit
    its URL (as if TEST_DATABASE_URL had been given) and none of them starts, restarts or stops it."""
    if not hasattr(config, "workerinput") and not os.environ.get("TEST_DATABASE_URL"):
        os.environ["TEST_DATABASE_URL"] = pg_server_url()


def template_name(service: str) -> str:
    """Per-process names, so that several test runs can share one server."""
    return f"eh_test_{service}_{os.getpid()}"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = pg_server_url()
    yield url
    for service in SERVICE_DIRS:
        asyncio.run(drop_database(url, template_name(service)))


@pytest.fixture(scope="session")
async def referrals_db(server_url: str) -> str:
    return await migrated_database(server_url, template_name("referrals"), SERVICE_DIRS["referrals"])


@pytest.fixture(scope="session")
async def cases_db(server_url: str) -> str:
    return await migrated_database(server_url, template_name("cases"), SERVICE_DIRS["cases"])


@pytest.fixture(scope="session")
async def outcomes_db(server_url: str) -> str:
    return await migrated_database(server_url, template_name("outcomes"), SERVICE_DIRS["outcomes"])


@pytest.fixture
async def referrals_sessions(referrals_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with rollback_sessionmaker(referrals_db) as factory:
        yield factory


@pytest.fixture
async def cases_sessions(cases_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with rollback_sessionmaker(cases_db) as factory:
        yield factory


@pytest.fixture
async def outcomes_sessions(outcomes_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with rollback_sessionmaker(outcomes_db) as factory:
        yield factory


@pytest.fixture
async def referrals_client(
    referrals_db: str, referrals_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    from referrals.app import create_app
    from referrals.config import Settings

    async with app_client(create_app, Settings, referrals_db, sessionmaker=referrals_sessions) as client:
        yield client


@pytest.fixture
async def cases_client(
    cases_db: str, cases_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    from cases.app import create_app
    from cases.config import Settings

    async with app_client(create_app, Settings, cases_db, sessionmaker=cases_sessions) as client:
        yield client


@pytest.fixture
async def outcomes_client(
    outcomes_db: str, outcomes_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    from outcomes.app import create_app
    from outcomes.config import Settings

    async with app_client(create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions) as client:
        yield client


@pytest.fixture
async def fresh_referrals_db(server_url: str, referrals_db: str) -> AsyncIterator[str]:
    async with clone_database(server_url, template_name("referrals")) as url:
        yield url


@pytest.fixture
async def fresh_cases_db(server_url: str, cases_db: str) -> AsyncIterator[str]:
    async with clone_database(server_url, template_name("cases")) as url:
        yield url


@pytest.fixture
async def fresh_outcomes_db(server_url: str, outcomes_db: str) -> AsyncIterator[str]:
    async with clone_database(server_url, template_name("outcomes")) as url:
        yield url


@pytest.fixture(scope="session")
async def intelligence_db(server_url: str) -> str:
    return await migrated_database(server_url, template_name("intelligence"), SERVICE_DIRS["intelligence"])


@pytest.fixture
async def intelligence_sessions(intelligence_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with rollback_sessionmaker(intelligence_db) as factory:
        yield factory


@pytest.fixture
async def fresh_intelligence_db(server_url: str, intelligence_db: str) -> AsyncIterator[str]:
    async with clone_database(server_url, template_name("intelligence")) as url:
        yield url
