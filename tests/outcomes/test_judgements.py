"""Issue 22: the family's lead worker records their professional judgement on a `practitioner_assessed` need.

The real cases app runs in process beside outcomes (as in test_progress_need_to_know); outcomes asks it, with
the practitioner's own token, whether they lead the family's open case.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
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
ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))


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
    from outcomes.app import create_app
    from outcomes.config import Settings
    from outcomes.deps import caseload_of

    async with app_client(create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions) as client:
        client.app.dependency_overrides[caseload_of] = lambda: CaseloadClient(cases, "http://cases.test")  # type: ignore[attr-defined]
        yield client


def _practitioner(subject: str) -> dict[str, str]:
    return auth(make_token("practitioner", sub=subject, agency="LCC", agency_type="council", hubs=["north"]))


async def test_the_lead_worker_records_a_judgement_with_evidence_audited(
    outcomes: httpx.AsyncClient,
    cases: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
    kit: Any,
) -> None:
    async with cases_sessions() as session:
        world = await make_world(session)
    family_id, case_id = await open_family_case(cases, world)
    assert (await assign(cases, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    assert (await cases.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    assert (await put_team(cases, case_id, [(world.partner, "school")], lead)).status_code == 200
    assert (await cases.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)).status_code == 200
    async with outcomes_sessions() as session:
        people = [kit.person("parent_carer", "1985-01-01"), kit.person("child", "2014-03-02")]
        data = kit.assessment(["education", "health", "crime"], people, family_id=uuid.UUID(family_id))
        await kit.enrol(session, data)
        await session.commit()
    assert world.lead.subject and world.partner.subject and world.other.subject
    url = f"/v1/families/{family_id}/judgements"
    body = {"need": "health", "met": True, "evidence": "CAMHS discharge letter", "assessed_on": "2025-06-01"}

    # The team around the family may read progress but not judge; an outsider does not see the family at all.
    team_member = await outcomes.post(url, json=body, headers=_practitioner(world.partner.subject))
    assert team_member.status_code == 403, team_member.text
    outsider = await outcomes.post(url, json=body, headers=_practitioner(world.other.subject))
    assert outsider.status_code == 404
    manager = auth(make_token("hub_manager", agency="LCC", agency_type="council", hubs=["north"]))
    assert (await outcomes.post(url, json=body, headers=manager)).status_code == 403

    headers = _practitioner(world.lead.subject)
    wrong_rule = await outcomes.post(url, json=body | {"need": "education"}, headers=headers)
    assert wrong_rule.status_code == 422 and "attendance_threshold rule" in wrong_rule.json()["errors"][0]["detail"]
    not_identified = await outcomes.post(url, json=body | {"need": "substance_use"}, headers=headers)
    assert not_identified.status_code == 422 and not_identified.json()["errors"][0]["pointer"] == "/need"
    no_evidence = await outcomes.post(url, json=body | {"evidence": " "}, headers=headers)
    assert no_evidence.status_code == 422 and no_evidence.json()["errors"][0]["pointer"] == "/evidence"

    recorded = await outcomes.post(url, json=body, headers=headers)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["recorded_by"] == f"{world.lead.subject}@LCC"
    assert recorded.json()["already_recorded"] is False
    assert (await outcomes.post(url, json=body, headers=headers)).json()["already_recorded"] is True

    run = await outcomes.post("/v1/evaluations", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST)
    assert run.status_code == 201
    progress = (await outcomes.get(f"/v1/families/{family_id}/progress", headers=headers)).json()
    health = next(n for n in progress["needs"] if n["need"] == "health")
    assert health["met"] is True and health["evidence"][0]["fields"]["evidence"] == "CAMHS discharge letter"
    async with outcomes_sessions() as session:
        audited = (
            await session.execute(
                text("SELECT actor FROM audit_log WHERE record_type = 'practitioner_judgement' AND record_id = :f"),
                {"f": family_id},
            )
        ).all()
    assert [a[0] for a in audited] == [f"{world.lead.subject}@LCC"] * 2
