"""Helpers for the referrals tests: callers and creates (payloads and identifiers come from tests.support.factories)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import app_client, auth, free_port, make_token
from tests.support.factories import (
    bad_check_digit,
    consent,
    maternity_payload,
    nhs_number,
    partner_payload,
    person,
    school_payload,
    upn,
)
from tests.support.matching import match_in_process

TODAY = datetime.now(UTC).date()


__all__ = [
    "bad_check_digit",
    "consent",
    "maternity_payload",
    "nhs_number",
    "partner_payload",
    "person",
    "school_payload",
    "upn",
]

PARTNER_A = {"agency": "MAT-LTH", "agency_type": "maternity"}
PARTNER_B = {"agency": "MAT-OTHER", "agency_type": "maternity"}
SCHOOL = {"agency": "SCH-LS-001", "agency_type": "school"}
POLICE = {"agency": "WYP", "agency_type": "police"}


@functools.cache
def _token(*roles: str, agency: str | None, agency_type: str | None, sub: str | None, hubs: tuple[str, ...]) -> str:
    # Minting loads the RSA key from disk (~50 ms): tokens are cached for the run (they live an hour).
    return make_token(*roles, agency=agency, agency_type=agency_type, sub=sub, hubs=hubs)


def partner(agency: str = "MAT-LTH", agency_type: str = "maternity", sub: str | None = None) -> dict[str, str]:
    return auth(_token("partner_system", agency=agency, agency_type=agency_type, sub=sub or f"sys-{agency}", hubs=()))


def hub_manager(*hubs: str) -> dict[str, str]:
    return auth(_token("hub_manager", agency="LCC", agency_type="council", sub=None, hubs=tuple(hubs or ("north",))))


def admin() -> dict[str, str]:
    return auth(_token("admin", agency="LCC", agency_type="council", sub=None, hubs=()))


async def create_maternity(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, key: str | None = "auto", **overrides: Any
) -> httpx.Response:
    h = dict(headers or partner())
    if key == "auto":
        key = uuid.uuid4().hex
    if key is not None:
        h["Idempotency-Key"] = key
    return await client.post("/v1/referrals/maternity", json=maternity_payload(**overrides), headers=h)


async def create_school(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **overrides: Any
) -> httpx.Response:
    h = {**(headers or partner(**SCHOOL)), "Idempotency-Key": uuid.uuid4().hex}
    return await client.post("/v1/referrals/school", json=school_payload(**overrides), headers=h)


async def create_partner(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, key: str | None = "auto", **overrides: Any
) -> httpx.Response:
    h = dict(headers or partner(**POLICE))
    if key is not None:
        h["Idempotency-Key"] = uuid.uuid4().hex if key == "auto" else key
    return await client.post("/v1/referrals/partner", json=partner_payload(**overrides), headers=h)


def dead_url() -> str:
    """A loopback URL where nothing listens: the peer service is down."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
async def shared_referrals_client(referrals_db: str) -> AsyncIterator[httpx.AsyncClient]:
    """One referrals app for the whole run (building an app and its first request cost most of a second).

    It starts with an unbound sessionmaker, so it never opens a connection of its own to the template
    database; each test plugs in its rolled-back sessionmaker. Cases and outcomes are down for it.
    """
    from referrals.app import create_app
    from referrals.config import Settings

    async with app_client(
        create_app,
        Settings,
        referrals_db,
        sessionmaker=UNBOUND,
        match_retry_interval=0,
        cases_url=dead_url(),
        outcomes_url=dead_url(),
    ) as client:
        yield client


UNBOUND: async_sessionmaker[AsyncSession] = async_sessionmaker()


@pytest.fixture
async def client(
    shared_referrals_client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The referrals app on this test's rolled-back transaction."""
    app = shared_referrals_client.app  # type: ignore[attr-defined]
    app.state.sessionmaker = referrals_sessions
    try:
        yield shared_referrals_client
    finally:
        app.state.sessionmaker = UNBOUND


MatchNow = Callable[[], Awaitable[int]]


@pytest.fixture(scope="session")
async def shared_cases_client(cases_db: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real cases app in process, once for the run: the person index the referrals service matches against."""
    from cases.app import create_app
    from cases.config import Settings

    async with app_client(create_app, Settings, cases_db, sessionmaker=UNBOUND) as cases:
        yield cases


@pytest.fixture
async def match_now(
    client: httpx.AsyncClient,
    shared_cases_client: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[MatchNow]:
    """Run the referrals service's matching step now: the in-process app has no background worker (the test owns
    the transaction), so a test that needs matching done (triage, accepting) calls this after its intakes. It is
    the worker's own pass (`MatchingWorker.run_once`) against the real cases app, on this test's transactions."""
    cases_app = shared_cases_client.app  # type: ignore[attr-defined]
    cases_app.state.sessionmaker = cases_sessions

    async def run() -> int:
        return await match_in_process(client, shared_cases_client)

    try:
        yield run
    finally:
        cases_app.state.sessionmaker = UNBOUND
