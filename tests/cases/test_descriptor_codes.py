"""An assessment names a need's descriptors by their stable codes (the framework gives each a code and a label);
the exact label is still accepted for clients written before codes, and either way the code is stored."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.models import Assessment
from shared.deprecation import DEPRECATED_SINCE, DOCS_URL
from tests.cases.conftest import FrameworkServer, World, assign, open_family_case


def assessment(*descriptors: str) -> dict[str, object]:
    return {
        "needs": [
            {"code": "education", "descriptors": list(descriptors), "evidence": "attendance 72%"},
            {"code": "housing", "evidence": "rent arrears"},
            {"code": "health", "evidence": "mother's anxiety"},
        ]
    }


async def test_descriptors_are_sent_by_code_or_by_their_old_sentence_and_stored_by_code(
    client: httpx.AsyncClient,
    world: World,
    framework_server: FrameworkServer,
    cases_sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    by_code = await client.post(f"/v1/cases/{case_id}/assessment", json=assessment("education_risk"), headers=lead)
    assert by_code.status_code == 201, by_code.text
    assert "deprecation" not in by_code.headers
    by_label = await client.post(f"/v1/cases/{case_id}/assessment", json=assessment("education concern"), headers=lead)
    assert by_label.status_code == 201, by_label.text
    # the label is a deprecated form: the answer says so (RFC 9745) and links the page listing the old names
    assert by_label.headers["deprecation"] == f"@{int(DEPRECATED_SINCE.timestamp())}"
    assert by_label.headers["link"] == f'<{DOCS_URL}>; rel="deprecation"; type="text/html"'
    async with cases_sessions() as session:
        stored = (
            await session.scalars(
                select(Assessment).where(Assessment.case_id == uuid.UUID(case_id)).order_by(Assessment.created_at)
            )
        ).all()
    assert [a.needs[0]["descriptors"] for a in stored] == [["education_risk"], ["education_concern"]]


async def test_an_unknown_descriptor_is_a_422_listing_the_codes(
    client: httpx.AsyncClient, world: World, framework_server: FrameworkServer
) -> None:
    _, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    wrong = await client.post(f"/v1/cases/{case_id}/assessment", json=assessment("persistent_absence"), headers=lead)
    assert wrong.status_code == 422
    [error] = wrong.json()["errors"]
    assert error["pointer"] == "/needs/0/descriptors/0"
    assert "education_concern" in error["detail"] and "education_risk" in error["detail"]
