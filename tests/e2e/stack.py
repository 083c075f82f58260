"""The whole platform as real processes on fresh clones of the migrated template databases.

Events are wired exactly as `earlyhelp up` wires them (`earlyhelp.platform.subscribers_json`), and each
service is told its peers' URLs the same way (`<SVC>_<PEER>_URL`). The cases service needs its hubs, which
are data it holds with no API to add them, so the demo seed (`cases.seed.seed_demo`) runs on its fresh
database before the processes start; workers are created through the cases API by the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from cases.seed import seed_demo
from earlyhelp.platform import SERVICES, subscribers_json
from shared.db import async_url
from tests.conftest import template_name
from tests.support import (
    TEST_DATA_DIR,
    TEST_KEY_PATH,
    ServiceProcess,
    ServiceProcesses,
    clone_database,
    common_test_env,
    free_port,
)
from tests.support.factories import upn

T = TypeVar("T")
START_TIMEOUT = 120.0  # generous: the whole suite shares two cores
DEMO_SEED = 20261123


WORKERS = (
    # (token subject, role in cases, name)
    ("e2e-manager", "hub_manager", "Morgan Hale"),
    ("e2e-lead", "practitioner", "Priya Shah"),
    ("e2e-other", "practitioner", "Sam Ortiz"),
    ("e2e-rest-lead", "practitioner", "Alex Reid"),  # the REST module's lead, so the story's caseload is its own
)


@dataclass
class Stack:
    processes: ServiceProcesses
    urls: dict[str, str]
    workers: dict[str, str] = field(default_factory=dict)
    """Worker ids in cases by token subject (`WORKERS`)."""

    async def add_workers(self, manager_token: str) -> None:
        async with httpx.AsyncClient(base_url=self.urls["cases"], timeout=30) as cases:
            for sub, role, name in WORKERS:
                body = {"name": name, "subject": sub, "agency": "LCC", "agency_type": "council", "hub": HUB,
                        "role": role, "caseload_cap": 10}  # fmt: skip
                response = await cases.post(
                    "/v1/workers", json=body, headers={"Authorization": f"Bearer {manager_token}"}
                )
                self.workers[sub] = ok(response, 201)["id"]


async def seed_hubs(cases_db_url: str) -> None:
    engine = create_async_engine(async_url(cases_db_url), poolclass=NullPool)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            counts = await seed_demo(session, seed=DEMO_SEED)
            await session.commit()
        assert counts, counts
    finally:
        await engine.dispose()


async def closed_in_outcomes(stack: Stack, family_id: str) -> bool:
    """Whether the outcomes service has heard the family's `case.closed` (its enrolment has a closing date)."""
    engine = create_async_engine(
        async_url(stack.processes["outcomes"].env["OUTCOMES_DATABASE_URL"]), poolclass=NullPool
    )
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT bool_or(closed_on IS NOT NULL) FROM enrolments WHERE family_id = CAST(:f AS uuid)"),
                {"f": family_id},
            )
    finally:
        await engine.dispose()
    return bool(found)


async def time_passes(stack: Stack, family_id: str, *, start_months: int = 0, closed_months: int = 0) -> None:
    """Months pass for the family: its enrolment's start (and assessment) or its closure move back in the outcomes
    database. Evaluations and claims may not be dated in the future (issue 22), so a test that needs six months
    of sustained progress moves the family's dates back instead."""
    url = stack.processes["outcomes"].env["OUTCOMES_DATABASE_URL"]
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    UPDATE enrolments
                    SET start_date = CAST(start_date - make_interval(months => :start) AS date),
                        assessed_on = CAST(assessed_on - make_interval(months => :start) AS date),
                        closed_on = CAST(closed_on - make_interval(months => :closed) AS date)
                    WHERE family_id = CAST(:family AS uuid)
                    """
                ),
                {"family": family_id, "start": start_months, "closed": closed_months},
            )
    finally:
        await engine.dispose()


@asynccontextmanager
async def platform(
    server_url: str, log_dir: Path, *, gateway: bool, env: Mapping[str, str] | None = None
) -> AsyncIterator[Stack]:
    """Referrals, cases, outcomes and intelligence (and the gateway when asked) on fresh databases, stopped at the
    end; `env` is added to every process's environment (each setting is read by the part with its prefix)."""
    async with (
        clone_database(server_url, template_name("referrals")) as referrals_db,
        clone_database(server_url, template_name("cases")) as cases_db,
        clone_database(server_url, template_name("outcomes")) as outcomes_db,
        clone_database(server_url, template_name("intelligence")) as intelligence_db,
    ):
        databases = {
            "referrals": referrals_db,
            "cases": cases_db,
            "outcomes": outcomes_db,
            "intelligence": intelligence_db,
        }
        await seed_hubs(cases_db)
        problems: list[str] = []
        for attempt in range(1, PORT_ATTEMPTS + 1):
            processes = _processes(databases, log_dir / f"attempt-{attempt}", gateway=gateway, extra=env or {})
            try:
                await processes.start(timeout=START_TIMEOUT)
            except (TimeoutError, RuntimeError) as exc:
                problems.append(f"attempt {attempt}: {exc}")
                stop(processes)
                continue
            impostors = [name for name, p in processes.processes.items() if not _listens(p)]
            if not impostors:
                break
            problems.append(f"attempt {attempt}: another process held the port of {impostors}")
            stop(processes)  # a port was taken between choosing it and binding it: choose again
        else:
            raise RuntimeError("could not start the platform: " + "; ".join(problems))
        try:
            yield Stack(processes, {name: p.url for name, p in processes.processes.items()})
        finally:
            stop(processes)


def stop(processes: ServiceProcesses) -> None:
    """SIGTERM every process at once, then wait for each (`ServiceProcesses.stop` waits one by one)."""
    running = [p.proc for p in processes.processes.values() if p.proc is not None and p.proc.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


PORT_ATTEMPTS = 2


def _processes(
    databases: dict[str, str], log_dir: Path, *, gateway: bool, extra: Mapping[str, str]
) -> ServiceProcesses:
    names = [s.name for s in SERVICES] + (["gateway"] if gateway else [])
    ports = {name: free_port() for name in names}
    processes = ServiceProcesses()
    for part in SERVICES:
        env = common_test_env(part.prefix, databases[part.name], ports[part.name])
        env[f"{part.prefix}_SUBSCRIBERS"] = subscribers_json(part.name, ports)
        for peer in SERVICES:
            if peer is not part:
                env[f"{part.prefix}_{peer.prefix}_URL"] = f"http://127.0.0.1:{ports[peer.name]}"
        processes.add(part.name, part.app, {**env, **extra}, log_dir, port=ports[part.name])
    if gateway:
        env = {
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_ENVIRONMENT": "test",
            "GATEWAY_DEV_KEY_PATH": str(TEST_KEY_PATH),
            "GATEWAY_DATA_DIR": str(TEST_DATA_DIR),
            "GATEWAY_RATE_LIMIT_PER_SECOND": "0",
            # the suite shares two cores with other suites: a loaded service may take seconds to answer
            "GATEWAY_UPSTREAM_TIMEOUT_SECONDS": "30",
            **{f"GATEWAY_{s.prefix}_URL": f"http://127.0.0.1:{ports[s.name]}" for s in SERVICES},
        }
        processes.add("gateway", "gateway.app:create_app", {**env, **extra}, log_dir, port=ports["gateway"])
    return processes


def _listens(process: ServiceProcess) -> bool:
    """True when our own process holds the port: another suite's server may have answered `/readyz` there."""
    if process.proc is None or process.proc.poll() is not None:
        return False
    try:
        connections = psutil.Process(process.proc.pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == process.port for c in connections)


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Call `probe` until `done(result)`; fail with the last result after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached after {timeout}s; last: {result!r}")
        await asyncio.sleep(0.2)


def log_tail(stack: Stack, lines: int = 40) -> str:
    out = []
    for name, process in stack.processes.processes.items():
        try:
            text = process.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        out.append(f"--- {name} ---\n" + "\n".join(text))
    return "\n".join(out)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


# --- the story's data -------------------------------------------------------------------------------------

HUB = "north"
NORTH_POSTCODE = "LS7 3AB"  # LS7 is a north district in the referrals hub mapping
NEEDS = ("education", "crime", "health")
PUPIL_BORN = "2015-05-01"


def upn_for(serial: int) -> str:
    """A valid UPN that no demo person has (demo serials are random; these start 80199)."""
    return upn(serial, prefix="80199")


def school_referral(reference: str, family_name: str, serial: int) -> dict[str, Any]:
    """A school referral as the partner system sends it to the referrals service (snake_case REST body)."""
    from datetime import UTC, datetime, timedelta

    return {
        "external_reference": reference,
        "referrer": {"name": "Dana Whitfield", "role": "Designated safeguarding lead", "email": "dsl@school.example"},
        "needs": list(NEEDS),
        "reason": "Attendance has fallen for three terms; police contact with an older sibling; health worries.",
        "consent": {
            "given": True,
            "given_by": "parent",
            "recorded_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "method": "verbal",
        },
        "lawful_basis": "consent",
        "school_urn": "107950",
        "pupil": {
            "given_name": "Kai",
            "family_name": family_name,
            "date_of_birth": PUPIL_BORN,
            "upn": upn_for(serial),
            "year_group": 6,
            "postcode": NORTH_POSTCODE,
            "address": "12 Chapeltown Road, Leeds",
        },
        "parents": [
            {
                "given_name": "Jordan",
                "family_name": family_name,
                "date_of_birth": "1986-02-03",
                "postcode": NORTH_POSTCODE,
                "address": "12 Chapeltown Road, Leeds",
            }
        ],
        "attendance": {
            "current_term_percent": 81.5,
            "last_three_terms_percent": [86.0, 84.0, 83.0],
            "unauthorised_absence_sessions": 14,
        },
    }


def school_terms(last_end: Any) -> list[tuple[Any, Any]]:
    """Three consecutive terms of about 11 weeks with short breaks, the last ending on `last_end`."""
    from datetime import timedelta

    terms = []
    end = last_end
    for _ in range(3):
        start = end - timedelta(weeks=11)
        terms.append((start, end))
        end = start - timedelta(weeks=3)
    return list(reversed(terms))
