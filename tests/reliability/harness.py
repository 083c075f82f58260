"""Harness for the fault and scale-out proofs: real service processes on fresh databases, wired by events.

* `Stack` — referrals and cases (and optionally outcomes) as real uvicorn processes, N replicas each, on fresh
  committed clones of the migrated templates, with `*_SUBSCRIBERS` wiring the event subscriptions as
  `earlyhelp.platform.process_env` does. Replicas of one service sit behind a `TcpProxy` that round-robins
  connections (what a Kubernetes Service does), so a subscription names one URL per service.
* `TcpProxy` — an asyncio TCP forwarder (TCP or unix-socket upstreams) that can be cut and restored: the
  database outage proof puts one between the services and PostgreSQL.
* `Load` — clients that submit and accept referrals, retrying with their idempotency keys through failures.
* `check_delivery_invariants` — the exactly-once-in-effect checks, read straight from the databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

from shared.db import plain_url
from tests.support import ServiceProcess, ServiceProcesses, auth, common_test_env, free_port, make_token
from tests.support.factories import nhs_number

# Scaled down so that `make test` stays fast; `make soak` runs the full 500 (see test_kill_soak).
REFERRAL_COUNT = int(os.environ.get("RELIABILITY_REFERRALS", "40"))
SOAK_REFERRAL_COUNT = int(os.environ.get("RELIABILITY_SOAK_REFERRALS", "500"))
CONCURRENCY = int(os.environ.get("RELIABILITY_CONCURRENCY", "12"))
ALL_HUBS = ("north", "central", "south")
PARTNER = auth(make_token("partner_system", sub="rel-maternity", agency="MAT-REL", agency_type="maternity"))
MANAGER_SUB = "rel-manager"
MANAGER = auth(make_token("hub_manager", sub=MANAGER_SUB, agency="LCC", agency_type="council", hubs=ALL_HUBS))
ADMIN = auth(make_token("admin", sub="rel-admin", agency="LCC", agency_type="council"))


GIVEN = (
    "Amina",
    "Bethany",
    "Chloe",
    "Daria",
    "Ebony",
    "Farah",
    "Grace",
    "Hana",
    "Imogen",
    "Jade",
    "Keira",
    "Leah",
    "Maya",
    "Nadia",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sofia",
    "Tamsin",
    "Uma",
    "Vera",
    "Willow",
    "Xenia",
    "Yasmin",
    "Zara",
)
FAMILY = (
    "Abbott",
    "Barker",
    "Chowdhury",
    "Dlamini",
    "Evans",
    "Fletcher",
    "Gallagher",
    "Hussain",
    "Iqbal",
    "Jankowski",
    "Kaur",
    "Lindqvist",
    "Mensah",
    "Novak",
    "Okafor",
    "Pereira",
    "Quigley",
    "Rahman",
    "Sutcliffe",
    "Tran",
    "Umarov",
    "Varga",
    "Whitfield",
    "Yilmaz",
    "Zielinski",
)


POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def maternity_payload(parent_nhs: str, index: int) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "external_reference": f"REL-{uuid.uuid4().hex[:16]}",
        "referrer": {"name": "Midwife Test", "role": "community midwife"},
        "needs": ["health", "early_years"],
        "reason": "Reliability run",
        "consent": {
            "given": True,
            "given_by": "expectant parent",
            "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "method": "verbal",
        },
        "safeguarding_concern": False,
        "lawful_basis": "consent",
        "expectant_parent": {
            # a different person each time, as a partner's referrals are: the person index links none of them
            "given_name": GIVEN[index % len(GIVEN)],
            "family_name": FAMILY[(index * 7) % len(FAMILY)],
            "date_of_birth": date(1975 + index % 25, 1 + index % 12, 1 + (index * 7) % 28).isoformat(),
            "nhs_number": parent_nhs,
            "postcode": f"LS6 {1 + index % 9}{POSTCODE_LETTERS[index % 20]}{POSTCODE_LETTERS[index // 20 % 20]}",
        },
        "expected_delivery_date": (today + timedelta(weeks=10)).isoformat(),
        "gestation_weeks": 30,
        "vulnerabilities": ["housing"],
        "children": [],
    }


# --- TCP proxy --------------------------------------------------------------------------------------------


@dataclass
class Upstream:
    host: str | None = None
    port: int | None = None
    unix_path: str | None = None

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.unix_path is not None:
            return await asyncio.open_unix_connection(self.unix_path)
        assert self.host is not None and self.port is not None
        return await asyncio.open_connection(self.host, self.port)


def postgres_upstream(server_url: str) -> Upstream:
    """Where PostgreSQL listens: a TCP host and port, or (pgserver) a unix socket in a directory."""
    parts = urlsplit(server_url)
    query = parse_qs(parts.query)
    host = (query.get("host") or [parts.hostname or ""])[0]
    port = int((query.get("port") or [str(parts.port or 5432)])[0])
    if host.startswith("/"):
        return Upstream(unix_path=str(Path(host) / f".s.PGSQL.{port}"))
    return Upstream(host=host or "127.0.0.1", port=port)


def through_proxy(database_url: str, proxy_port: int) -> str:
    """The same database reached over TCP through the proxy on 127.0.0.1:proxy_port."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    user = parts.username or "postgres"
    password = f":{parts.password}" if parts.password else ""
    return f"postgresql://{user}{password}@127.0.0.1:{proxy_port}/{name}"


class TcpProxy:
    """Forwards TCP connections to one of its upstreams (round robin). `cut()` closes the listener and every
    open connection, so clients see refused and reset connections; `restore()` listens again on the same port."""

    def __init__(self, upstreams: Sequence[Upstream], port: int | None = None) -> None:
        self.upstreams = list(upstreams)
        self.port = port or free_port()
        self._next = itertools.count()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream = self.upstreams[next(self._next) % len(self.upstreams)]
        try:
            up_reader, up_writer = await upstream.open()
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        self._writers.update((client_writer, up_writer))
        pipes = [
            asyncio.create_task(self._pipe(client_reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, client_writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.gather(*pipes)
        finally:
            self._tasks.difference_update(pipes)
            self._writers.difference_update((client_writer, up_writer))

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def stop(self) -> None:
        await self.cut()


# --- in-test HTTP servers ---------------------------------------------------------------------------------


# --- the stack --------------------------------------------------------------------------------------------

PREFIX = {"referrals": "REFERRALS", "cases": "CASES", "outcomes": "OUTCOMES"}


@dataclass
class Stack:
    """Services as real processes on fresh databases; `replicas` processes per service behind a TCP balancer."""

    databases: dict[str, str]
    log_dir: Path
    replicas: int = 1
    with_outcomes: bool = False
    database_urls: dict[str, str] | None = None
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    processes: ServiceProcesses = field(default_factory=ServiceProcesses)
    balancers: dict[str, TcpProxy] = field(default_factory=dict)

    @property
    def services(self) -> list[str]:
        return ["referrals", "cases", *(["outcomes"] if self.with_outcomes else [])]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.balancers[service].port}"

    def replica(self, service: str, index: int = 0) -> ServiceProcess:
        return self.processes[f"{service}-{index}"]

    def replicas_of(self, service: str) -> list[ServiceProcess]:
        return [self.replica(service, i) for i in range(self.replicas)]

    def subscriber_url(self, service: str) -> str:
        """Where other services deliver events to `service` (overridable per test, e.g. through a proxy)."""
        return self.url(service) + "/v1/events"

    async def start(self, subscriber_urls: dict[str, str] | None = None) -> None:
        urls = subscriber_urls or {}
        for service in self.services:
            ports = [free_port() for _ in range(self.replicas)]
            balancer = TcpProxy([Upstream("127.0.0.1", p) for p in ports])
            await balancer.start()
            self.balancers[service] = balancer
            for index, port in enumerate(ports):
                prefix = PREFIX[service]
                db = (self.database_urls or self.databases)[service]
                env = common_test_env(prefix, db, port)
                # The tests' backoff is capped at 2 s, so the default 10 attempts span only ~10 s: a
                # restart under load on a small machine can outlast that. 40 attempts give ~70 s.
                env[f"{prefix}_OUTBOX_MAX_ATTEMPTS"] = "40"
                self.processes.add(f"{service}-{index}", f"{service}.app:create_app", env, self.log_dir, port=port)
        outcomes_url = self.url("outcomes") if self.with_outcomes else f"http://127.0.0.1:{free_port()}"
        deliver_to = {s: urls.get(s, self.subscriber_url(s)) for s in ("referrals", "cases")}
        for index in range(self.replicas):
            referrals = self.replica("referrals", index).env
            referrals["REFERRALS_CASES_URL"] = self.url("cases")
            referrals["REFERRALS_OUTCOMES_URL"] = outcomes_url
            referrals["REFERRALS_MATCH_RETRY_INTERVAL"] = "0.5"
            referrals["REFERRALS_SUBSCRIBERS"] = json.dumps(
                [{"name": "cases", "url": deliver_to["cases"], "event_types": ["referral.accepted"]}]
            )
            cases = self.replica("cases", index).env
            cases["CASES_OUTCOMES_URL"] = outcomes_url
            subscribers = [
                {"name": "referrals", "url": deliver_to["referrals"], "event_types": ["case.opened", "case.joined"]}
            ]
            if self.with_outcomes:
                subscribers.append(
                    {
                        "name": "outcomes",
                        "url": self.url("outcomes") + "/v1/events",
                        "event_types": ["case.assessment_completed", "case.closed"],
                    }
                )
            cases["CASES_SUBSCRIBERS"] = json.dumps(subscribers)
            for service in self.services:
                self.replica(service, index).env.update(self.extra_env.get(service, {}))
        await add_hubs(self.databases["cases"])
        await self.processes.start(timeout=60)

    async def stop(self) -> None:
        self.processes.stop()
        for balancer in self.balancers.values():
            await balancer.stop()

    async def restart(self, process: ServiceProcess) -> None:
        process.start()
        await process.wait_ready(60)


@contextlib.asynccontextmanager
async def running_stack(stack: Stack, subscriber_urls: dict[str, str] | None = None) -> AsyncIterator[Stack]:
    try:
        await stack.start(subscriber_urls)
        yield stack
    finally:
        await stack.stop()


async def add_hubs(cases_db_url: str) -> None:
    """The demo hubs of docs/contracts.md (data the cases service holds; it has no API to add them)."""
    conn = await asyncpg.connect(plain_url(cases_db_url))
    try:
        await conn.executemany(
            "INSERT INTO hubs (code, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(h, f"{h.title()} hub") for h in ALL_HUBS],
        )
    finally:
        await conn.close()


async def fetch(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def fetchval(db_url: str, sql: str, *args: Any) -> Any:
    rows = await fetch(db_url, sql, *args)
    return rows[0][0] if rows else None


# --- load -------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    index: int
    key: str
    external_reference: str
    parent_nhs: str
    referral_id: str | None = None
    accepted: bool = False
    submit_attempts: int = 0
    accept_attempts: int = 0
    replayed: bool = False


@dataclass
class Load:
    """Partner clients submitting maternity referrals and hub managers accepting them, retrying through faults.

    A submission is retried with the same Idempotency-Key and body on transport errors, 503 and 409 (the first
    attempt still in flight); an acceptance is retried on transport errors and 503, and a 409 after a lost
    response is settled by reading the referral. Every status other than those is recorded as unexpected.
    """

    base_urls: Callable[[], str]
    count: int
    families: int | None = None
    concurrency: int = CONCURRENCY
    deadline_seconds: float = 120.0
    outcomes: list[Outcome] = field(default_factory=list)
    unexpected: list[tuple[str, int, str]] = field(default_factory=list)
    server_errors: list[tuple[str, int, str]] = field(default_factory=list)
    acknowledged: int = 0
    accepted: int = 0
    timeline: list[tuple[float, str, int, float]] = field(default_factory=list)
    """(monotonic start, call, HTTP status or -1 for a transport error, seconds taken) of every call."""

    def __post_init__(self) -> None:
        groups = self.families or self.count
        parents = [nhs_number() for _ in range(groups)]
        for i in range(self.count):
            key = f"rel-{uuid.uuid4().hex}"
            parent = parents[i % groups]
            self.outcomes.append(Outcome(i, key, "", parent))
        self._payloads = {o.index: maternity_payload(o.parent_nhs, o.index % groups) for o in self.outcomes}
        for o in self.outcomes:
            o.external_reference = self._payloads[o.index]["external_reference"]

    async def run(self) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        self._stop_at = time.monotonic() + self.deadline_seconds
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0)) as http:

            async def one(outcome: Outcome) -> None:
                async with gate:
                    await self._submit(http, outcome)
                    await self._accept(http, outcome)

            await asyncio.gather(*(one(o) for o in self.outcomes))

    def _note(self, what: str, response: httpx.Response) -> None:
        entry = (what, response.status_code, response.text[:300])
        if response.status_code >= 500 and response.status_code != 503:
            self.server_errors.append(entry)
        self.unexpected.append(entry)

    def raise_if_broken(self) -> None:
        """Fail fast (while waiting for the load) when a server error has been seen."""
        assert self.server_errors == [], f"5xx other than 503 during the run: {self.server_errors[:3]}"

    def _check_problem(self, response: httpx.Response) -> None:
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            self.unexpected.append(("503 without problem+json", response.status_code, response.text[:300]))

    async def _pause(self) -> None:
        assert time.monotonic() < self._stop_at, "load did not finish before its deadline"
        await asyncio.sleep(0.2)

    async def _submit(self, http: httpx.AsyncClient, outcome: Outcome) -> None:
        headers = {**PARTNER, "Idempotency-Key": outcome.key}
        while True:
            outcome.submit_attempts += 1
            started = time.monotonic()
            try:
                response = await http.post(
                    self.base_urls() + "/v1/referrals/maternity", json=self._payloads[outcome.index], headers=headers
                )
            except httpx.TransportError:
                self.timeline.append((started, "submit", -1, time.monotonic() - started))
                await self._pause()
                continue
            self.timeline.append((started, "submit", response.status_code, time.monotonic() - started))
            if response.status_code == 503:
                self._check_problem(response)
            if response.status_code == 201:
                outcome.referral_id = response.json()["id"]
                outcome.replayed = response.headers.get("Idempotent-Replayed") == "true"
                self.acknowledged += 1
                return
            if response.status_code not in (409, 503):
                self._note("submit", response)
            await self._pause()

    async def _accept(self, http: httpx.AsyncClient, outcome: Outcome) -> None:
        assert outcome.referral_id is not None
        url = f"/v1/referrals/{outcome.referral_id}"
        while True:
            outcome.accept_attempts += 1
            started = time.monotonic()
            try:
                response = await http.post(
                    self.base_urls() + url + "/decision",
                    json={"outcome": "accepted", "reason": "meets the criteria"},
                    headers=MANAGER,
                )
                if response.status_code == 409 and response.json().get("matching") == "pending":
                    # matching runs after intake (in the worker, which waits on cases): not yet, try again
                    self.timeline.append((started, "accept", 409, time.monotonic() - started))
                    await self._pause()
                    continue
                if response.status_code == 409:
                    response = await http.get(self.base_urls() + url, headers=MANAGER)
                    if response.status_code == 200 and response.json()["status"] != "accepted":
                        self._note("accept-conflict", response)
            except httpx.TransportError:
                self.timeline.append((started, "accept", -1, time.monotonic() - started))
                await self._pause()
                continue
            self.timeline.append((started, "accept", response.status_code, time.monotonic() - started))
            if response.status_code == 503:
                self._check_problem(response)
            if response.status_code == 200:
                outcome.accepted = True
                self.accepted += 1
                return
            if response.status_code != 503:
                self._note("accept", response)
            await self._pause()


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> float:
    """Poll an async predicate until it holds; returns the seconds it took."""
    started = time.monotonic()
    while True:
        if await predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not true after {timeout}s")
        await asyncio.sleep(interval)


async def outbox_settled(db_url: str) -> bool:
    """No delivery is waiting or dead in this service's outbox."""
    count = await fetchval(db_url, "SELECT count(*) FROM outbox_deliveries WHERE status <> 'delivered'")
    return bool(count == 0)


async def all_linked(referrals_db: str, expected: int) -> bool:
    linked = await fetchval(
        referrals_db, "SELECT count(*) FROM referrals WHERE status = 'accepted' AND case_id IS NOT NULL"
    )
    return bool(linked == expected)


async def check_delivery_invariants(stack: Stack, load: Load) -> dict[str, Any]:
    """Every acknowledged referral exists once, every acceptance had one case effect, every outbox is drained.

    Returns the figures measured, for the report and the docs.
    """
    referrals_db, cases_db = stack.databases["referrals"], stack.databases["cases"]
    assert load.server_errors == [], f"5xx other than 503 during the run: {load.server_errors[:5]}"
    assert load.unexpected == [], f"unexpected responses: {load.unexpected[:5]}"
    assert all(o.referral_id and o.accepted for o in load.outcomes)
    acknowledged = {o.referral_id for o in load.outcomes if o.referral_id is not None}
    assert len(acknowledged) == load.count, "two keys were answered with the same referral"

    stored = await fetch(referrals_db, "SELECT id::text AS id, external_reference, status, case_id FROM referrals")
    assert len(stored) == load.count, f"{len(stored)} referrals stored for {load.count} submitted"
    assert {r["id"] for r in stored} == acknowledged
    by_reference = {o.external_reference: o.referral_id for o in load.outcomes}
    assert {r["external_reference"]: r["id"] for r in stored} == by_reference
    assert all(r["status"] == "accepted" for r in stored)
    keys = await fetchval(referrals_db, "SELECT count(*) FROM idempotency_keys")
    assert keys == load.count

    accepted_events = await fetch(
        referrals_db, "SELECT id::text AS id, subject FROM outbox_events WHERE type = 'referral.accepted'"
    )
    assert sorted(e["subject"] for e in accepted_events) == sorted(acknowledged), "one referral.accepted each"
    inbox = await fetch(cases_db, "SELECT event_id::text AS id FROM inbox WHERE type = 'referral.accepted'")
    assert {e["id"] for e in inbox} == {e["id"] for e in accepted_events}
    effects = await fetch(cases_db, "SELECT referral_id::text AS id, case_id::text AS case_id FROM case_referrals")
    assert sorted(e["id"] for e in effects) == sorted(acknowledged), "exactly one case effect per acceptance"
    announced = await fetch(
        cases_db,
        "SELECT data->>'referral_id' AS id, count(*) AS n FROM outbox_events"
        " WHERE type IN ('case.opened', 'case.joined') GROUP BY 1",
    )
    assert {a["id"]: a["n"] for a in announced} == dict.fromkeys(acknowledged, 1), "one case.opened/joined each"
    case_of = {e["id"]: e["case_id"] for e in effects}
    assert {r["id"]: str(r["case_id"]) for r in stored} == case_of, "referrals point at the case that took them"

    # One family per expectant parent, one open case per family.
    families = await fetch(
        cases_db,
        "SELECT p.nhs_number, count(DISTINCT m.family_id) AS families FROM people p"
        " JOIN family_members m ON m.person_id = p.id AND m.left_on IS NULL"
        " WHERE p.nhs_number IS NOT NULL GROUP BY 1",
    )
    parents = {o.parent_nhs for o in load.outcomes}
    assert {f["nhs_number"] for f in families} == parents
    assert all(f["families"] == 1 for f in families), "a parent ended up in two families"
    open_cases = await fetchval(cases_db, "SELECT count(*) FROM cases WHERE status <> 'closed'")
    assert open_cases == len(parents)

    for db in (referrals_db, cases_db):
        rows = await fetch(db, "SELECT status, count(*) AS n FROM outbox_deliveries GROUP BY 1")
        counts = {r["status"]: r["n"] for r in rows}
        assert counts.get("pending", 0) == 0 and counts.get("dead", 0) == 0, counts
    redeliveries = await fetchval(
        referrals_db,
        "SELECT count(*) FROM delivery_attempts a JOIN outbox_deliveries d ON d.id = a.delivery_id"
        " WHERE a.status_code IS NULL OR a.status_code >= 300",
    )
    return {
        "referrals": load.count,
        "families": len(parents),
        "replayed_submissions": sum(o.replayed for o in load.outcomes),
        "retried_submissions": sum(o.submit_attempts > 1 for o in load.outcomes),
        "retried_acceptances": sum(o.accept_attempts > 1 for o in load.outcomes),
        "failed_delivery_attempts": redeliveries,
    }


def database_map(referrals: str, cases: str, outcomes: str | None = None) -> dict[str, str]:
    found = {"referrals": referrals, "cases": cases}
    if outcomes is not None:
        found["outcomes"] = outcomes
    return found
