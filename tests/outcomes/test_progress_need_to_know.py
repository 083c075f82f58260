"""Progress follows the cases service's need-to-know (issue 19, finding C).

The real cases app runs in process beside outcomes; outcomes asks it, with the practitioner's own token, which
families they may see. A practitioner of the family's hub who neither leads its case nor is in the team around
the family gets the same 404 as for an unknown id, and nothing in a batch.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.caseload import CaseloadClient
from tests.cases.conftest import (
    ASSESSMENT,
    FrameworkServer,
    assign,
    framework_server,
    make_world,
    open_family_case,
    plan_body,
    put_team,
)
from tests.support import app_client, auth, make_token

__all__ = ["framework_server"]


@pytest.fixture
async def cases(
    cases_db: str, cases_sessions: async_sessionmaker[AsyncSession], framework_server: FrameworkServer
) -> AsyncIterator[httpx.AsyncClient]:
    from cases.app import create_app
    from cases.config import Settings

    async with app_client(
        create_app, Settings, cases_db, sessionmaker=cases_sessions, outcomes_url=framework_server.url
    ) as client:
        yield client


@pytest.fixture
async def outcomes(
    outcomes_db: str, outcomes_sessions: async_sessionmaker[AsyncSession], cases: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """Outcomes, its caseload client speaking to the in-process cases app instead of over a socket."""
    from outcomes.app import create_app
    from outcomes.config import Settings
    from outcomes.deps import caseload_of

    async with app_client(create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions) as client:
        client.app.dependency_overrides[caseload_of] = lambda: CaseloadClient(cases, "http://cases.test")  # type: ignore[attr-defined]
        yield client


def _practitioner(subject: str) -> dict[str, str]:
    return auth(make_token("practitioner", sub=subject, agency="LCC", agency_type="council", hubs=["north"]))


def _manager(hub: str) -> dict[str, str]:
    return auth(make_token("hub_manager", sub=f"manager-{hub}", agency="LCC", agency_type="council", hubs=[hub]))


async def _family_with_lead_and_team(
    cases: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
    kit: Any,
) -> dict[str, str]:
    """A north family enrolled in outcomes, its case led by one practitioner with another in the team around it,
    and a third practitioner of the same hub with no part in it."""
    async with cases_sessions() as session:
        world = await make_world(session)
    family_id, case_id = await open_family_case(cases, world)
    assert (await assign(cases, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    assert (await cases.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    plan = await cases.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)
    assert plan.status_code == 200, plan.text
    assert (await put_team(cases, case_id, [(world.partner, "school")], lead)).status_code == 200
    async with outcomes_sessions() as session:
        child = kit.person("child", "2014-03-02")
        await kit.enrol(session, kit.assessment(["education"], [child], family_id=uuid.UUID(family_id), hub="north"))
        await session.commit()
    assert world.lead.subject and world.partner.subject and world.other.subject
    return {
        "family_id": family_id,
        "lead": world.lead.subject,
        "team": world.partner.subject,
        "outsider": world.other.subject,
    }


async def test_practitioner_progress_follows_the_cases_need_to_know(
    outcomes: httpx.AsyncClient,
    cases: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
    kit: Any,
) -> None:
    found = await _family_with_lead_and_team(cases, cases_sessions, outcomes_sessions, kit)
    family_id, unknown = found["family_id"], str(uuid.uuid4())

    # The lead worker and the team member read the family's progress, alone and in a batch.
    for who in ("lead", "team"):
        headers = _practitioner(found[who])
        response = await outcomes.get(f"/v1/families/{family_id}/progress", headers=headers)
        assert response.status_code == 200, (who, response.text)
        assert response.json()["family_id"] == family_id
        batch = await outcomes.get(f"/v1/progress?family_ids={family_id},{unknown}", headers=headers)
        assert [p["family_id"] for p in batch.json()["items"]] == [family_id], who

    # A practitioner of the same hub with no part in the case: as for an unknown id, and absent from a batch.
    outsider = _practitioner(found["outsider"])
    hidden = await outcomes.get(f"/v1/families/{family_id}/progress", headers=outsider)
    missing = await outcomes.get(f"/v1/families/{unknown}/progress", headers=outsider)
    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert hidden.headers["content-type"] == missing.headers["content-type"] == "application/problem+json"
    assert hidden.json()["detail"] == missing.json()["detail"].replace(unknown, family_id)
    batch = await outcomes.get(f"/v1/progress?family_ids={family_id}", headers=outsider)
    assert batch.status_code == 200 and batch.json()["items"] == []

    # Hub managers keep their hub scope (decided in SQL, without asking cases).
    assert (await outcomes.get(f"/v1/families/{family_id}/progress", headers=_manager("north"))).status_code == 200
    assert (await outcomes.get(f"/v1/families/{family_id}/progress", headers=_manager("south"))).status_code == 404
