"""Fixtures for the security proofs: the three apps in process (rate limit off), and a small world of objects.

Each app is built once per run with an unbound sessionmaker; every test plugs in its own rolled-back
sessionmaker (as tests/referrals does), so nothing a test writes persists and building apps stays cheap.
The world holds, for each service, objects that belong to one owner (agency MAT-LTH, hub north, a lead
worker), and the matrix callers are outsiders to all of them — so an object-scoped role must answer 404.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.caseload import CaseloadClient
from tests.cases.conftest import (
    FrameworkServer,
    assign,
    framework_server,
    make_world,
    open_family_case,
    plan_body,
    put_team,
)
from tests.referrals.conftest import create_maternity, partner
from tests.support import app_client, auth, free_port, make_token

__all__ = ["framework_server"]

UNBOUND: async_sessionmaker[AsyncSession] = async_sessionmaker()
OWNER_AGENCY = "MAT-LTH"
OUTSIDER_AGENCY = "MAT-OTHER"
ROLES = ("partner_system", "practitioner", "hub_manager", "analyst", "auditor", "admin")
CALLERS = ("none", *ROLES)


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
async def _referrals_app(referrals_db: str) -> AsyncIterator[httpx.AsyncClient]:
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
        rate_limit_per_second=0,
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def _cases_app(cases_db: str, framework_server: FrameworkServer) -> AsyncIterator[httpx.AsyncClient]:
    from cases.app import create_app
    from cases.config import Settings

    async with app_client(
        create_app, Settings, cases_db, sessionmaker=UNBOUND, outcomes_url=framework_server.url, rate_limit_per_second=0
    ) as client:
        yield client


async def _bound(client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Any]:
    app = client.app  # type: ignore[attr-defined]
    app.state.sessionmaker = sessions
    try:
        yield client
    finally:
        app.state.sessionmaker = UNBOUND


@pytest.fixture
async def referrals(
    _referrals_app: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession], cases: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """The referrals app asks the in-process cases app which families a practitioner works with."""
    from referrals.deps import caseload_of

    app = _referrals_app.app  # type: ignore[attr-defined]
    app.dependency_overrides[caseload_of] = lambda: CaseloadClient(cases, "http://cases.test")
    try:
        async for client in _bound(_referrals_app, referrals_sessions):
            yield client
    finally:
        app.dependency_overrides.pop(caseload_of, None)


@pytest.fixture
async def cases(
    _cases_app: httpx.AsyncClient, cases_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _bound(_cases_app, cases_sessions):
        yield client


@pytest.fixture
async def outcomes(
    outcomes_db: str, outcomes_sessions: async_sessionmaker[AsyncSession], cases: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """Built per test: the outcomes app loads its built-in frameworks at startup, through the test's session.
    It asks the in-process cases app which families a practitioner may see."""
    from outcomes.app import create_app
    from outcomes.config import Settings
    from outcomes.deps import caseload_of

    async with app_client(
        create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions, rate_limit_per_second=0
    ) as client:
        client.app.dependency_overrides[caseload_of] = lambda: CaseloadClient(cases, "http://cases.test")  # type: ignore[attr-defined]
        yield client


@dataclass
class SecurityWorld:
    """Objects owned by MAT-LTH / hub north / the lead worker, and the subjects of the people around them."""

    ids: dict[str, str]
    lead_sub: str
    team_sub: str
    outsider_sub: str
    manager_sub: str

    def caller(self, role: str) -> dict[str, str]:
        """The matrix's caller for `role`: an outsider to every object of the world (or no token)."""
        if role == "none":
            return {}
        by_role: dict[str, dict[str, Any]] = {
            "partner_system": {"agency": OUTSIDER_AGENCY, "agency_type": "maternity", "sub": "sys-other"},
            "practitioner": {"agency": "LCC", "agency_type": "council", "sub": self.outsider_sub},
            "hub_manager": {"agency": "LCC", "agency_type": "council", "hubs": ["south"], "sub": "manager-south"},
        }
        claims = by_role.get(role, {"agency": "LCC", "agency_type": "council", "sub": f"{role}-1"})
        return auth(make_token(role, **claims))

    def lead(self) -> dict[str, str]:
        return auth(make_token("practitioner", sub=self.lead_sub, agency="LCC", agency_type="council"))

    def team(self) -> dict[str, str]:
        return auth(make_token("practitioner", sub=self.team_sub, agency="LCC", agency_type="council"))

    def manager(self) -> dict[str, str]:
        return auth(
            make_token("hub_manager", sub=self.manager_sub, agency="LCC", agency_type="council", hubs=["north"])
        )


@pytest.fixture
async def world(
    referrals: httpx.AsyncClient,
    cases: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> SecurityWorld:
    response = await create_maternity(referrals, headers=partner(OWNER_AGENCY))
    assert response.status_code == 201, response.text
    referral_id = response.json()["id"]
    assert response.json()["hub"] == "north"
    response = await referrals.post(
        "/v1/webhooks", json={"url": "https://partner.example/hooks"}, headers=partner(OWNER_AGENCY)
    )
    assert response.status_code == 201, response.text
    webhook_id = response.json()["id"]

    async with cases_sessions() as session:
        workers = await make_world(session)
    outsider = workers.other
    from cases.models import Worker

    team_worker = Worker(
        id=uuid.uuid4(), subject=f"team-{uuid.uuid4().hex[:8]}", name="team", agency="LCC", agency_type="council",
        hub="north", role="practitioner", caseload_cap=15, active=True,
    )  # fmt: skip
    async with cases_sessions() as session:
        session.add(team_worker)
        await session.commit()
    family_id, case_id = await open_family_case(cases, workers)
    assert (await assign(cases, workers, case_id, workers.lead)).status_code == 201
    lead = workers.practitioner(workers.lead)
    from tests.cases.conftest import ASSESSMENT

    assert (await cases.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    plan = await cases.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)
    assert plan.status_code == 200, plan.text
    team = await put_team(cases, case_id, [(team_worker, "school nurse")], lead)
    assert team.status_code == 200, team.text
    family = (await cases.get(f"/v1/families/{family_id}", headers=workers.manager())).json()
    members = family["members"]
    # The family enrolled in outcomes (hub north), as `case.assessment_completed` would, so that outcomes'
    # family-scoped cells are about scope, not an unknown id.
    from tests.outcomes import conftest as outcomes_kit

    people = [{"person_id": m["person"]["id"], "role": m["role"], "date_of_birth": "2015-01-01"} for m in members]
    async with outcomes_sessions() as session:
        enrolment = outcomes_kit.assessment(["education"], people, family_id=uuid.UUID(family_id))
        await outcomes_kit.enrol(session, enrolment)
        await session.commit()
    return SecurityWorld(
        ids={
            "referral_id": referral_id,
            "webhook_id": webhook_id,
            "family_id": family_id,
            "case_id": case_id,
            "member_id": members[0]["id"],
            "person_id": members[0]["person"]["id"],
            "other_person_id": members[1]["person"]["id"],
            "worker_id": str(workers.lead.id),
            "merge_id": str(uuid.uuid4()),
            "ref": "expectant_parent",
            "claim_id": str(uuid.uuid4()),
            "code": "families-first",
        },
        lead_sub=str(workers.lead.subject),
        team_sub=str(team_worker.subject),
        outsider_sub=str(outsider.subject),
        manager_sub=workers.manager_sub,
    )
