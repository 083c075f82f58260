"""Issue 22: claims and evaluation pay only for what the rules allow, through the HTTP API.

A claim rechecks, at claim time, every condition of the framework version the family was enrolled under; an
evaluation or claim as of a future date is refused and stores nothing; the attendance rule's suspensions
parameter cannot be misread; the demo seeder's assessments are decided by the same eligibility rule.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.outcomes.support import met_family
from tests.support import auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))
ADMIN = auth(make_token("admin", agency="LCC", agency_type="council"))


async def test_two_needs_sent_as_eligible_are_stored_not_eligible_and_never_claimed(
    outcomes_client: httpx.AsyncClient, kit: Any
) -> None:
    """Family b3775817: two needs under the 2022 framework (three required) arrived as `eligible: true`."""
    data = await met_family(outcomes_client, kit, ["education", "health"], eligible=True)
    family_id = data["family_id"]
    progress = (await outcomes_client.get(f"/v1/families/{family_id}/progress", headers=ANALYST)).json()
    assert progress["eligible"] is False and progress["claimable"] is False

    refused = await outcomes_client.post(
        "/v1/claims", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["title"] == "Not claimable" and problem["type"].endswith("/not-claimable")
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [("/needs", "not_eligible")]
    assert "2 distinct need(s)" in problem["errors"][0]["detail"] and "at least 3" in problem["errors"][0]["detail"]
    assert (await outcomes_client.get(f"/v1/claims?family_ids={family_id}", headers=ANALYST)).json()["items"] == []


async def test_a_stored_eligible_enrolment_is_rechecked_at_claim_time(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    """An enrolment written before the recheck (the demo seeder's) says eligible: the claim asks the rules again,
    every condition: the number of needs, needs of the version, dependent children."""
    data = await met_family(outcomes_client, kit, ["education", "health", "crime"])
    family_id = data["family_id"]
    async with outcomes_sessions() as session:
        await session.execute(
            text(
                "UPDATE enrolments SET eligible = true, needs = ARRAY['education', 'health', 'astrology'] "
                "WHERE family_id = :f"
            ),
            {"f": family_id},
        )
        await session.execute(
            text(
                "DELETE FROM enrolment_members WHERE role = 'child' AND enrolment_id = "
                "(SELECT id FROM enrolments WHERE family_id = :f)"
            ),
            {"f": family_id},
        )
        await session.commit()
    refused = await outcomes_client.post(
        "/v1/claims", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert refused.status_code == 422, refused.text
    errors = {e["pointer"]: e["detail"] for e in refused.json()["errors"]}
    assert set(errors) == {"/needs/astrology", "/needs", "/people"}
    assert "not a need of supporting-families-2022@1" in errors["/needs/astrology"]
    assert "dependent children or an expectant parent" in errors["/people"]


async def test_an_eligible_family_with_unmet_needs_is_a_422_naming_them(
    outcomes_client: httpx.AsyncClient, kit: Any
) -> None:
    data = await met_family(outcomes_client, kit, ["education", "health", "crime", "housing"])
    refused = await outcomes_client.post(
        "/v1/claims", json={"family_id": data["family_id"], "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/needs/housing"]
    claimable = await met_family(outcomes_client, kit, ["education", "health", "crime"])
    created = await outcomes_client.post(
        "/v1/claims", json={"family_id": claimable["family_id"], "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert created.status_code == 201, created.text


async def test_an_evaluation_or_claim_as_of_a_future_date_is_refused_and_stores_nothing(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    data = await met_family(outcomes_client, kit, ["education", "health", "crime"])
    family_id = data["family_id"]
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    for body in ({"as_of": "2099-07-01"}, {"as_of": tomorrow, "family_id": family_id}):
        response = await outcomes_client.post("/v1/evaluations", json=body, headers=ANALYST)
        assert response.status_code == 422, response.text
        assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [("/as_of", "future_date")]
    claim = await outcomes_client.post("/v1/claims", json={"family_id": family_id, "as_of": tomorrow}, headers=ANALYST)
    assert claim.status_code == 422 and claim.json()["errors"][0]["pointer"] == "/as_of"
    async with outcomes_sessions() as session:
        stored = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM need_results r JOIN enrolments e ON e.id = r.enrolment_id "
                "WHERE e.family_id = :f), (SELECT count(*) FROM evaluation_runs WHERE as_of > current_date)"
            ),
            {"f": family_id},
        )
        assert tuple(stored.one()) == (0, 0)
    progress = (await outcomes_client.get(f"/v1/families/{family_id}/progress", headers=ANALYST)).json()
    assert progress["claimable"] is False and {n["reason"] for n in progress["needs"]} == {"not evaluated yet"}
    today = await outcomes_client.post("/v1/evaluations", json={"family_id": family_id}, headers=ANALYST)
    assert today.status_code == 201 and today.json()["as_of"] == datetime.now(UTC).date().isoformat()


async def test_suspensions_fewer_than_replaces_max_suspensions(outcomes_client: httpx.AsyncClient) -> None:
    active = (await outcomes_client.get("/v1/frameworks/supporting-families-2022", headers=ADMIN)).json()
    params = active["needs"][0]["rule"]["params"]
    assert params == {"min_percent": 90.0, "terms": 3, "suspensions_fewer_than": 3}
    old = json.loads(json.dumps(active))
    old["version"] = "council-1"
    old["needs"][0]["rule"]["params"] = {"min_percent": 90, "terms": 3, "max_suspensions": 3}
    refused = await outcomes_client.post("/v1/frameworks", json=old, headers=ADMIN)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["pointer"].startswith("/needs/0/rule/attendance_threshold/params")
    assert "renamed suspensions_fewer_than" in error["detail"]


async def test_a_suspension_count_equal_to_the_parameter_fails_the_rule(
    outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    async with outcomes_sessions() as session:
        child = kit.person("child", "2015-05-01")
        family = await kit.enrol(session, kit.assessment(["education", "health", "crime"], [child]))
        terms = (("2025-01-06", "2025-03-28"), ("2025-04-22", "2025-07-18"), ("2025-09-03", "2025-12-19"))
        await kit.load(session, [kit.term(child["person_id"], s, e, 100, 95, suspensions=1) for s, e in terms])
        result = await kit.result(session, family, "education", "2026-01-31")
        assert (result.met, result.reason) == (
            False,
            "not met for 1 of 1 school-age children: 3 suspensions (fewer than 3 required)",
        )


def test_the_demo_plan_decides_eligibility_with_the_assessment_rule() -> None:
    from earlyhelp.demo import STAGES, demo_families, demo_framework
    from shared.contracts import eligibility

    families = demo_families(len(STAGES) * 6, seed=20261203)
    assessed = [f for f in families if f["case"] is not None and f["case"]["needs"] is not None]
    assert assessed
    framework = demo_framework()
    for family in assessed:
        case = family["case"]
        roles = [p["role"] for p in family["people"]] + (["unborn"] if family["kind"] == "maternity" else [])
        rule = eligibility(framework, case["needs"], roles)
        assert (case["eligible"], case["eligibility_reasons"]) == (rule.eligible, rule.reasons)
        assert case["framework"] == framework.code and case["framework_version"] == framework.version
        assert len(case["needs"]) >= framework.min_needs, case
