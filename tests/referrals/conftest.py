"""Helpers for the referrals tests: valid payloads, identifiers and callers."""

from __future__ import annotations

import copy
import functools
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum.gb import upn as upn_lib

from shared.identifiers import with_nhs_check_digit
from shared.testing import app_client, auth, free_port, make_token

TODAY = datetime.now(UTC).date()
_serial = itertools.count(100000001)


def nhs_number() -> str:
    """A fresh NHS number with a valid modulus-11 check digit."""
    while True:
        if number := with_nhs_check_digit(f"{next(_serial) % 1_000_000_000:09d}"):
            return number


def bad_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def upn(serial: int = 1) -> str:
    body = f"8012000{serial % 100:02d}{serial % 1000:03d}"
    return upn_lib.calc_check_digit(body) + body


PARTNER_A = {"agency": "MAT-LTH", "agency_type": "maternity"}
PARTNER_B = {"agency": "MAT-OTHER", "agency_type": "maternity"}
SCHOOL = {"agency": "SCH-LS-001", "agency_type": "school"}


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


def person(given: str = "Zoë", family: str = "O'Neill", born: date = date(1996, 5, 17), **extra: Any) -> dict[str, Any]:
    return {"given_name": given, "family_name": family, "date_of_birth": born.isoformat(), **extra}


def consent(given: bool = True) -> dict[str, Any]:
    if not given:
        return {"given": False}
    return {
        "given": True,
        "given_by": "Zoë O'Neill",
        "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "method": "verbal",
    }


def maternity_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_reference": f"MAT-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "Midwife Asha Patel", "role": "community midwife", "email": "asha.patel@nhs.example"},
        "needs": ["health", "early_years"],
        "reason": "Low mood in pregnancy; housing is overcrowded.",
        "consent": consent(),
        "safeguarding_concern": False,
        "lawful_basis": "consent",
        "expectant_parent": person(nhs_number=nhs_number(), postcode="LS6 1AA", address="1 Hyde Park Rd, Leeds"),
        "other_parent": person("Thanh", "Nguyễn", date(1994, 2, 1)),
        "expected_delivery_date": (TODAY + timedelta(weeks=12)).isoformat(),
        "gestation_weeks": 28,
        "vulnerabilities": ["perinatal_mental_health", "housing"],
        "children": [person("Mia", "O'Neill", TODAY - timedelta(days=700))],
    }
    body.update(copy.deepcopy(overrides))
    return body


def school_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_reference": f"SCH-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "Mr Daniel Okafor", "role": "designated safeguarding lead"},
        "needs": ["education"],
        "reason": "Attendance has fallen below 80% this term.",
        "consent": consent(),
        "school_urn": "107950",
        "pupil": {
            **person("Kai", "Smith", date(2014, 3, 2), postcode="LS10 1AB"),
            "upn": upn(1),
            "year_group": 6,
        },
        "parents": [person("Jo", "Smith", date(1985, 7, 1))],
        "attendance": {
            "current_term_percent": 78.5,
            "last_three_terms_percent": [88.0, 91.2, 85.0],
            "unauthorised_absence_sessions": 14,
        },
        "suspensions_this_year": 1,
        "permanently_excluded": False,
        "sen_status": "sen_support",
        "transition": True,
    }
    body.update(copy.deepcopy(overrides))
    return body


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
