"""Linkage, households, needs and identified families through HTTP, on the example datasets.

The examples hold three households: the Okafors in LS7 (north: five needs across five partner datasets, the
mother named differently by each agency, her partner linked by a domestic abuse incident), the Hussains in LS11
(south: known to social care, so statutory) and the Smiths in LS1 (one need: not identified).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intelligence.models import platform
from shared.contracts.events import FamilyReferred, source_of
from tests.intelligence.conftest import ANALYST, FrameworkServer, import_examples, run_linkage
from tests.support import auth, make_token

NORTH = auth(make_token("hub_manager", sub="north-manager", agency="LCC", agency_type="council", hubs=["north"]))
SOUTH = auth(make_token("hub_manager", sub="south-manager", agency="LCC", agency_type="council", hubs=["south"]))
PARTNER = auth(make_token("partner_system", agency="WYP", agency_type="police"))


async def _families(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/identified-families", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _identified(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    await import_examples(client)
    run = await run_linkage(client)
    assert run["diagnostics"]["identified"] == 1 and run["diagnostics"]["statutory"] == 1, run
    [okafor] = await _families(client, NORTH)
    [hussain] = await _families(client, SOUTH)
    return okafor, hussain


async def test_linkage_finds_the_okafors_with_their_needs_and_evidence(intelligence_api: httpx.AsyncClient) -> None:
    okafor, _ = await _identified(intelligence_api)
    assert (okafor["hub"], okafor["status"], okafor["framework"]) == (
        "north",
        "identified",
        "supporting-families-2022@1",
    )
    assert [n["code"] for n in okafor["needs"]] == ["education", "health", "domestic_abuse", "housing",
                                                    "financial_stability"]  # fmt: skip
    assert okafor["need_count"] == 5 and okafor["latest_evidence"] == "2026-09-01"
    education = next(n for n in okafor["needs"] if n["code"] == "education")
    assert {(e["dataset"], e["record_id"]) for e in education["evidence"]} == {("school_census", "SC-0001")}
    assert {e["shows"] for e in education["evidence"]} == {"attendance 84.5% to 2026-07-22", "4 suspensions"}
    members = {m["given_name"].lower(): m for m in okafor["members"]}
    assert set(members) == {"grace", "daniel", "ruth", "mark"}
    # Grace is one person across five agencies: "Gracie" to the police, "GRACE OKAFOR" to housing
    assert members["grace"]["records"] == [
        "health:WY-ICB:ICB-900", "housing:LCC-HOUSING:H-5501", "police_incident:WYP:WYP-26-1001",
        "worklessness:DWP:DWP-1",
    ]  # fmt: skip
    assert "domestic abuse incident" in members["mark"]["reason"] or "address" in members["mark"]["reason"]
    assert all(m["reason"] for m in members.values())


async def test_a_family_known_to_social_care_is_statutory_and_not_offered(intelligence_api: httpx.AsyncClient) -> None:
    _, hussain = await _identified(intelligence_api)
    assert (hussain["hub"], hussain["status"], hussain["statutory"]) == ("south", "statutory", "cp")
    response = await intelligence_api.post(
        f"/v1/identified-families/{hussain['id']}/decision", json={"decision": "refer"}, headers=SOUTH
    )
    assert response.status_code == 409


async def test_needs_follow_the_active_framework(
    intelligence_api: httpx.AsyncClient, framework_server: FrameworkServer
) -> None:
    await _identified(intelligence_api)
    framework_server.active = "families-first"
    await run_linkage(intelligence_api)
    [okafor] = await _families(intelligence_api, NORTH)
    assert okafor["framework"].startswith("families-first@")  # the version outcomes serves as current
    assert [n["code"] for n in okafor["needs"]] == ["education", "safe_in_relationships", "living_standards",
                                                    "health_wellbeing"]  # fmt: skip


async def test_a_hub_sees_only_its_own_families(intelligence_api: httpx.AsyncClient) -> None:
    okafor, hussain = await _identified(intelligence_api)
    assert (await intelligence_api.get(f"/v1/identified-families/{okafor['id']}", headers=SOUTH)).status_code == 404
    decision = {"decision": "refer"}
    other = await intelligence_api.post(
        f"/v1/identified-families/{okafor['id']}/decision", json=decision, headers=SOUTH
    )
    assert other.status_code == 404
    assert (
        await intelligence_api.get("/v1/identified-families", params={"hub": "north"}, headers=SOUTH)
    ).status_code == 403
    analysts = await _families(intelligence_api, ANALYST)
    assert {f["id"] for f in analysts} == {okafor["id"], hussain["id"]}
    assert (await intelligence_api.get(f"/v1/identified-families/{hussain['id']}", headers=NORTH)).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/identified-families", None),
        ("GET", "/v1/identified-families/{id}", None),
        ("POST", "/v1/identified-families/{id}/decision", {"decision": "refer"}),
        ("GET", "/v1/need-profile", None),
        ("POST", "/v1/linkage-runs", None),
        ("GET", "/v1/datasets", None),
    ],
)
async def test_a_partner_system_gets_403_everywhere(
    intelligence_api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    okafor, _ = await _identified(intelligence_api)
    response = await intelligence_api.request(method, path.format(id=okafor["id"]), json=body, headers=PARTNER)
    assert response.status_code == 403


async def test_refer_is_audited_and_emits_the_event_once(
    intelligence_api: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    okafor, _ = await _identified(intelligence_api)
    path = f"/v1/identified-families/{okafor['id']}/decision"
    response = await intelligence_api.post(path, json={"decision": "refer", "reason": "Several needs"}, headers=NORTH)
    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "referred"
    assert (decided["decision"]["decision"], decided["decision"]["decided_by"]) == ("refer", "north-manager@LCC")
    again = await intelligence_api.post(path, json={"decision": "dismiss", "reason": "x"}, headers=NORTH)
    assert again.status_code == 409
    async with intelligence_sessions() as session:
        events = (await session.execute(select(platform.outbox_events))).all()
        audit = (
            await session.execute(
                select(platform.audit_log).where(
                    platform.audit_log.c.record_type == "identified_family", platform.audit_log.c.action == "update"
                )
            )
        ).all()
    [event] = events
    assert (event.type, event.source, event.subject) == ("intelligence.family_referred", source_of("intelligence"),
                                                         okafor["id"])  # fmt: skip
    payload = FamilyReferred.model_validate(event.data)
    assert set(event.data) == set(FamilyReferred.model_fields), "the producer sends exactly the contract's fields"
    assert (payload.hub, payload.needs, payload.lawful_basis) == ("north", [n["code"] for n in okafor["needs"]],
                                                                  "6(1)(e)")  # fmt: skip
    roles = {(p.given_name.lower(), p.role) for p in payload.people}
    assert {("grace", "parent_carer"), ("daniel", "child"), ("ruth", "child")} <= roles
    assert {e.record_id for e in payload.evidence} >= {"SC-0001", "WYP-26-1001", "H-5501", "DWP-1", "ICB-900"}
    assert [(a.actor, a.details["decision"]) for a in audit] == [("north-manager@LCC", "refer")]


async def test_a_decision_survives_the_next_run(intelligence_api: httpx.AsyncClient) -> None:
    okafor, _ = await _identified(intelligence_api)
    path = f"/v1/identified-families/{okafor['id']}/decision"
    no_reason = await intelligence_api.post(path, json={"decision": "dismiss"}, headers=NORTH)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["pointer"] == "/reason"
    bad = await intelligence_api.post(path, json={"decision": "contact"}, headers=NORTH)
    assert bad.status_code == 422
    ok = await intelligence_api.post(
        path, json={"decision": "not_now", "reason": "Already known to school"}, headers=NORTH
    )
    assert ok.status_code == 200
    await run_linkage(intelligence_api)
    [again] = await _families(intelligence_api, NORTH)
    assert (again["id"], again["status"], again["decision"]["reason"]) == (okafor["id"], "not_now",
                                                                            "Already known to school")  # fmt: skip


async def test_the_run_is_stored_with_its_model_and_a_report(intelligence_api: httpx.AsyncClient) -> None:
    await import_examples(intelligence_api)
    run = await run_linkage(intelligence_api)
    detail = (await intelligence_api.get(f"/v1/linkage-runs/{run['id']}", headers=ANALYST)).json()
    names = [c["output_column_name"] for c in detail["model"]["comparisons"]]
    assert names == ["given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "upn"]
    assert detail["diagnostics"]["trained"] is False  # a handful of rows: scored with the shipped model
    page = await intelligence_api.get(f"/v1/linkage-runs/{run['id']}/report", headers=ANALYST)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("<rect") == sum(
        1 for c in detail["model"]["comparisons"] for level in c["comparison_levels"] if not level.get("is_null_level")
    )
    assert (await intelligence_api.get(f"/v1/linkage-runs/{run['id']}/report", headers=NORTH)).status_code == 403


async def test_subject_access_exports_the_persons_linked_records_and_families(
    intelligence_api: httpx.AsyncClient,
) -> None:
    await _identified(intelligence_api)
    admin = auth(make_token("admin", sub="dpo", agency="LCC", agency_type="council"))
    response = await intelligence_api.get(
        "/v1/admin/subject-access", params={"nhs_number": "9400010001"}, headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Grace's NHS number is on one record (health); linkage brings the other agencies' records about her
    assert {r["record_id"] for r in body["partner_records"]} == {"ICB-900", "H-5501", "WYP-26-1001", "DWP-1"}
    assert len(body["identified_families"]) == 1
