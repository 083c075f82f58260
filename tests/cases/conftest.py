"""Fixtures for the cases service tests: a real framework server, hubs and workers, tokens and helpers."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.app import create_app
from cases.config import Settings
from cases.models import Hub, Worker
from tests.support import app_client, auth, make_token

FRAMEWORK: dict[str, Any] = {
    "code": "supporting-families-2022",
    "version": "1",
    "name": "Supporting Families Outcomes Framework 2022",
    "min_needs": 3,
    "requires_dependent_children": True,
    "sustain_months": 6,
    "needs": [
        {"code": code, "name": code.replace("_", " "),
         "descriptors": [{"code": f"{code}_{word}", "label": f"{code} {word}"} for word in ("concern", "risk")],
         "rule": {"kind": "practitioner_assessed", "params": {}}}
        for code in ("education", "early_years", "health", "substance_use", "family_relationships",
                     "exploitation", "crime", "domestic_abuse", "housing", "financial_stability")
    ],
}  # fmt: skip


@dataclass
class FrameworkServer:
    """A small real HTTP server serving the documented framework JSON, with ETag revalidation."""

    url: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def framework_server() -> Iterator[FrameworkServer]:
    body = json.dumps(FRAMEWORK).encode()
    etag = '"sf2022-v1"'
    state = FrameworkServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/v1/frameworks/active" or not self.headers.get("authorization"):
                self.send_response(404 if self.path != "/v1/frameworks/active" else 401)
                self.end_headers()
                return
            if self.headers.get("if-none-match") == etag:
                state.hits.append("304")
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            state.hits.append("200")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
async def client(
    cases_db: str, cases_sessions: async_sessionmaker[AsyncSession], framework_server: FrameworkServer
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(
        create_app, Settings, cases_db, sessionmaker=cases_sessions, outcomes_url=framework_server.url
    ) as c:
        yield c


@dataclass
class World:
    """Hubs and workers of one test (rolled back afterwards)."""

    lead: Worker
    other: Worker
    partner: Worker
    manager_sub: str

    def manager(self) -> dict[str, str]:
        return auth(
            make_token("hub_manager", sub=self.manager_sub, agency="LCC", agency_type="council", hubs=["north"])
        )

    def practitioner(self, worker: Worker) -> dict[str, str]:
        assert worker.subject
        return auth(make_token("practitioner", sub=worker.subject, agency=worker.agency, agency_type="council"))


async def make_world(session: AsyncSession, *, cap: int = 15) -> World:
    suffix = uuid.uuid4().hex[:8]
    for code in ("north", "central", "south"):
        existing = await session.get(Hub, code)
        if existing is None:
            session.add(Hub(code=code, name=code.title()))
    await session.flush()

    def worker(name: str, agency: str = "LCC", hub: str = "north") -> Worker:
        return Worker(
            id=uuid.uuid4(), subject=f"{name}-{suffix}", name=name, agency=agency, agency_type="council", hub=hub,
            role="practitioner", caseload_cap=cap, active=True,
        )  # fmt: skip

    world = World(worker("lead"), worker("other"), worker("partner", "SCH-LS-001"), f"manager-{suffix}")
    session.add_all([world.lead, world.other, world.partner])
    await session.commit()
    return world


@pytest.fixture
async def world(cases_sessions: async_sessionmaker[AsyncSession]) -> World:
    async with cases_sessions() as session:
        return await make_world(session)


def family_body(*, upn: str = "H801200001001", hub: str = "north", family_name: str = "Smith") -> dict[str, Any]:
    return {
        "name": f"{family_name} family",
        "hub": hub,
        "postcode": "LS1 4AB",
        "members": [
            {"role": "parent_carer", "person": {"given_name": "Jane", "family_name": family_name,
                                                "date_of_birth": "1988-05-01", "postcode": "LS1 4AB"}},
            {"role": "child", "person": {"given_name": "Tom", "family_name": family_name,
                                         "date_of_birth": "2014-03-02", "upn": upn, "postcode": "LS1 4AB"}},
        ],
    }  # fmt: skip


async def open_family_case(client: httpx.AsyncClient, world: World, **kw: Any) -> tuple[str, str]:
    """A family with a parent and a child, and an open case; returns (family_id, case_id)."""
    response = await client.post("/v1/families", json=family_body(**kw), headers=world.manager())
    assert response.status_code == 201, response.text
    family_id = response.json()["id"]
    response = await client.post(
        "/v1/cases", json={"family_id": family_id, "reason": "school attendance and housing"}, headers=world.manager()
    )
    assert response.status_code == 201, response.text
    return family_id, response.json()["id"]


async def close_case(
    client: httpx.AsyncClient, case_id: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """Close a case as a client must: read its ETag, then send it back as If-Match."""
    read = await client.get(f"/v1/cases/{case_id}", headers=headers)
    assert read.status_code == 200, read.text
    return await client.post(
        f"/v1/cases/{case_id}/close", json=body, headers={**headers, "If-Match": read.headers["etag"]}
    )


async def assign(client: httpx.AsyncClient, world: World, case_id: str, worker: Worker) -> httpx.Response:
    return await client.post(
        f"/v1/cases/{case_id}/lead-worker",
        json={"worker_id": str(worker.id), "reason": "allocation"},
        headers=world.manager(),
    )


ASSESSMENT = {
    "needs": [
        {"code": "education", "descriptors": ["education concern"], "evidence": "attendance 72%"},
        {"code": "housing", "descriptors": [], "evidence": "rent arrears, notice served"},
        {"code": "health", "descriptors": ["health risk"], "evidence": "mother's anxiety"},
    ],
    "strengths": "close to grandparents",
    "family_views": "want help with the landlord",
    "child_voice": "Tom wants to stay at his school",
}


def plan_body(*, summary: str = "first plan") -> dict[str, Any]:
    """A plan; the team around the family is not part of it (`put_team`)."""
    return {
        "goals": [{"need": "education", "description": "attendance above 90%"},
                  {"need": "housing", "description": "secure tenancy"}],
        "actions": [{"need": "education", "description": "morning routine support", "owner_agency": "SCH-LS-001",
                     "due_on": "2030-01-31", "status": "in_progress"}],
        "review_dates": ["2030-02-01"],
        "change_summary": summary,
    }  # fmt: skip


async def put_team(
    client: httpx.AsyncClient,
    case_id: str,
    team: list[tuple[Worker, str]],
    headers: dict[str, str],
    *,
    if_match: str | None = None,
) -> httpx.Response:
    """Replace the team around the family: (worker, role) pairs. As a client does, with `If-Match` the case's ETag
    as the caller reads it (`GET …/team`) unless one is given; a caller who cannot read it sends none."""
    if if_match is None:
        read = await client.get(f"/v1/cases/{case_id}/team", headers=headers)
        if_match = read.headers.get("etag") if read.status_code == 200 else None
    body = {"team": [{"worker_id": str(w.id), "role": role} for w, role in team], "reason": "team agreed at review"}
    sent = {**headers, **({"If-Match": if_match} if if_match else {})}
    return await client.put(f"/v1/cases/{case_id}/team", json=body, headers=sent)


def referral_event(
    *,
    referral_id: str | None = None,
    upn: str = "H801200001001",
    event_id: str | None = None,
    hub: str = "north",
    family_name: str = "Smith",
) -> dict[str, Any]:
    """A `referral.accepted` CloudEvent as the referrals service sends it (a school referral: pupil and parent)."""
    rid = referral_id or str(uuid.uuid4())
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "referrals",
        "type": "referral.accepted",
        "subject": rid,
        "time": "2026-11-20T10:00:00Z",
        "data": {
            "referral_id": rid, "kind": "school", "agency": "SCH-LS-001", "agency_type": "school", "hub": hub,
            "received_at": "2026-11-19T09:00:00Z", "decided_at": "2026-11-20T10:00:00Z", "decided_by": "triage-1",
            "needs": ["education", "health"], "reason": "attendance 72%", "safeguarding_concern": False,
            "consent": {"given": True, "given_by": "parent", "recorded_at": "2026-11-19T09:00:00Z", "method": "verbal"},
            "postcode": "LS1 4AB", "address": "1 Demo Street", "expected_delivery_date": None,
            "people": [
                {"ref": "pupil", "role": "child", "given_name": "Tom", "family_name": family_name,
                 "date_of_birth": "2014-03-02", "nhs_number": None, "upn": upn, "postcode": "LS1 4AB",
                 "address": "1 Demo Street", "matched_person_id": None},
                {"ref": "parent", "role": "parent_carer", "given_name": "Jane", "family_name": family_name,
                 "date_of_birth": "1988-05-01", "nhs_number": None, "upn": None, "postcode": "LS1 4AB",
                 "address": "1 Demo Street", "matched_person_id": None},
            ],
        },
    }  # fmt: skip


async def post_event(client: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    from shared.events import sign_headers
    from shared.settings import DEV_EVENT_SECRET

    body = json.dumps(event)
    headers = {**sign_headers(DEV_EVENT_SECRET, event["id"], body), "content-type": "application/json"}
    return await client.post("/v1/events", content=body, headers=headers)
