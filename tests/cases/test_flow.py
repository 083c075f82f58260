"""The life of a case over HTTP: open, lead worker, assessment, plan, review, contacts, closure."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import Case, CaseStep
from tests.cases.conftest import (
    ASSESSMENT,
    FrameworkServer,
    World,
    assign,
    close_case,
    open_family_case,
    plan_body,
)


async def test_case_lifecycle(
    client: httpx.AsyncClient,
    world: World,
    cases_sessions: async_sessionmaker[AsyncSession],
    framework_server: FrameworkServer,
) -> None:
    family_id, case_id = await open_family_case(client, world)
    case = (await client.get(f"/v1/cases/{case_id}", headers=world.manager())).json()
    assert case["status"] == "open" and case["lead_worker_id"] is None

    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    case = (await client.get(f"/v1/cases/{case_id}", headers=lead)).json()
    assert case["status"] == "assessment" and case["lead_worker_id"] == str(world.lead.id)

    # a plan before the assessment is refused
    response = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)
    assert response.status_code == 409

    response = await client.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)
    assert response.status_code == 201, response.text
    assessment = response.json()
    assert assessment["eligible"] is True
    assert assessment["framework"] == "supporting-families-2022"
    assert any("dependent children" in r for r in assessment["eligibility_reasons"])

    response = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert response.json()["version"] == 1

    response = await client.post(f"/v1/cases/{case_id}/reviews", json={"summary": "attendance improving"}, headers=lead)
    assert response.status_code == 201, response.text

    response = await client.put(
        f"/v1/cases/{case_id}/plan", json=plan_body(summary="v2"), headers={**lead, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2

    plans = (await client.get(f"/v1/plans?case_ids={case_id}", headers=lead)).json()["items"]
    assert len(plans) == 1 and plans[0]["version"] == 2 and len(plans[0]["reviews"]) == 1

    by_family = (await client.get(f"/v1/cases?family_ids={family_id}", headers=lead)).json()["items"]
    assert by_family[0]["status"] == "review"
    assert by_family[0]["assessment"]["needs"] == ["education", "housing", "health"]

    closing = {"outcome": "stepped_up", "reason": "safeguarding concern", "step": {"agency": "CSC", "reason": "s47"}}
    response = await close_case(client, case_id, closing, lead)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed" and response.json()["lead_worker_id"] is None

    async with cases_sessions() as session:
        steps = (await session.scalars(select(CaseStep).where(CaseStep.case_id == case_id))).all()
        assert [s.direction for s in steps] == ["up"]
        types = (
            (
                await session.execute(
                    text("SELECT type FROM outbox_events WHERE subject = :s ORDER BY time, type"), {"s": case_id}
                )
            )
            .scalars()
            .all()
        )
        assert {"case.opened", "case.lead_worker_assigned", "case.assessment_completed", "plan.updated",
                "case.closed"} <= set(types)  # fmt: skip
        closed = await session.scalar(
            select(func.count()).select_from(Case).where(Case.id == case_id, Case.status == "closed")
        )
        assert closed == 1
    # the framework came from the real server once, then from the cache
    assert framework_server.hits.count("200") >= 1
