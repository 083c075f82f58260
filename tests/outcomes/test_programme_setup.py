"""Issue 22: programme set-up without a restart, through the HTTP API.

An administrator changes the active framework from a date (audited); families already enrolled keep the version
they were enrolled under; Leeds Families First's "improving living standards" covers worklessness,
homelessness, financial difficulty and NEET young people.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.outcomes.support import met_family, send_event
from tests.support import auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))
ADMIN = auth(make_token("admin", sub="admin-leeds", agency="LCC", agency_type="council"))


async def test_an_admin_changes_the_active_framework_from_a_date_audited(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession]
) -> None:
    today = datetime.now(UTC).date()
    before = await outcomes_client.get("/v1/frameworks/active", headers=ANALYST)
    assert before.json()["code"] == "supporting-families-2022"
    state = (await outcomes_client.get("/v1/frameworks/active/changes", headers=ANALYST)).json()
    assert (state["active"], state["source"], state["changes"]) == ("supporting-families-2022", "setting", [])

    body = {"framework": "families-first", "effective_from": today.isoformat(), "reason": "Leeds criteria"}
    assert (await outcomes_client.put("/v1/frameworks/active", json=body, headers=ANALYST)).status_code == 403
    bad = await outcomes_client.put(
        "/v1/frameworks/active",
        json={"framework": "nope", "effective_from": (today - timedelta(days=1)).isoformat(), "reason": "x"},
        headers=ADMIN,
    )
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/framework", "/effective_from"}
    no_reason = await outcomes_client.put(
        "/v1/frameworks/active",
        json={"framework": "families-first", "effective_from": today.isoformat()},
        headers=ADMIN,
    )
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["pointer"] == "/reason"

    changed = await outcomes_client.put("/v1/frameworks/active", json=body, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["active"], changed.json()["version"], changed.json()["source"]) == (
        "families-first",
        "2",
        "change",
    )
    after = await outcomes_client.get("/v1/frameworks/active", headers=ANALYST)
    assert after.json()["code"] == "families-first" and after.json()["min_needs"] == 2
    assert after.headers["etag"] != before.headers["etag"]
    listed = (await outcomes_client.get("/v1/frameworks", headers=ANALYST)).json()["items"]
    assert {f["code"] for f in listed if f["active"]} == {"families-first"}

    # A change from tomorrow is scheduled: today's framework stays until then.
    tomorrow = (today + timedelta(days=1)).isoformat()
    scheduled = await outcomes_client.put(
        "/v1/frameworks/active",
        json={"framework": "supporting-families-2022", "effective_from": tomorrow, "reason": "back to national"},
        headers=ADMIN,
    )
    assert scheduled.status_code == 200 and scheduled.json()["active"] == "families-first"
    changes = scheduled.json()["changes"]
    assert [(c["framework"], c["effective_from"], c["changed_by"]) for c in changes] == [
        ("families-first", today.isoformat(), "admin-leeds@LCC"),
        ("supporting-families-2022", tomorrow, "admin-leeds@LCC"),
    ]
    async with outcomes_sessions() as session:
        audited = (
            await session.execute(
                text("SELECT actor, action FROM audit_log WHERE record_type = 'active_framework' ORDER BY seq")
            )
        ).all()
    assert [tuple(a) for a in audited] == [("admin-leeds@LCC", "update")] * 2


async def test_an_enrolled_family_keeps_the_version_it_was_enrolled_under(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    adult, child = kit.person("parent_carer", "1985-01-01"), kit.person("child", "2015-05-01")
    data = kit.assessment(["education", "health", "crime"], [adult, child])
    await send_event(outcomes_client, "case.assessment_completed", data)
    today = datetime.now(UTC).date().isoformat()
    body = {"framework": "families-first", "effective_from": today, "reason": "Leeds criteria"}
    assert (await outcomes_client.put("/v1/frameworks/active", json=body, headers=ADMIN)).status_code == 200
    # Reassessed after the change, against Families First: the enrolment keeps the 2022 framework and its needs.
    sibling = kit.person("child", "2017-02-02")
    again = data | {
        "framework": "families-first",
        "framework_version": "2",
        "needs": ["living_standards", "education"],
        "people": [adult, child, sibling],
    }
    await send_event(outcomes_client, "case.assessment_completed", again)
    progress = (await outcomes_client.get(f"/v1/families/{data['family_id']}/progress", headers=ANALYST)).json()
    assert (progress["framework"], progress["framework_version"], progress["eligible"]) == (
        "supporting-families-2022",
        "1",
        True,
    )
    assert sorted(n["need"] for n in progress["needs"]) == ["crime", "education", "health"]
    async with outcomes_sessions() as session:
        members = (
            await session.execute(
                text(
                    "SELECT count(*) FROM enrolment_members m JOIN enrolments e ON e.id = m.enrolment_id "
                    "WHERE e.family_id = :f"
                ),
                {"f": data["family_id"]},
            )
        ).scalar_one()
    assert members == 3  # the people are refreshed all the same

    # A family first assessed now is enrolled under Families First.
    new = kit.assessment(["living_standards", "education"], [adult | {"person_id": str(uuid.uuid4())}])
    new |= {"framework": "families-first", "framework_version": "2"}
    await send_event(outcomes_client, "case.assessment_completed", new)
    enrolled = (await outcomes_client.get(f"/v1/families/{new['family_id']}/progress", headers=ANALYST)).json()
    assert (enrolled["framework"], enrolled["eligible"]) == ("families-first", True)


def _status(kind: str, pid: str, status: str, start: str) -> dict[str, Any]:
    return {"kind": kind, "person_id": pid, "status": status, "period_start": start}


async def test_families_first_living_standards_covers_work_housing_money_and_neet(
    outcomes_client: httpx.AsyncClient, kit: Any
) -> None:
    leeds = (await outcomes_client.get("/v1/frameworks/families-first", headers=ANALYST)).json()
    living = next(n for n in leeds["needs"] if n["code"] == "living_standards")
    assert living["rule"]["kind"] == "any_continuous_status"
    assert [m["kind"] for m in living["rule"]["params"]["measures"]] == ["employment", "housing", "financial", "neet"]

    families: dict[str, tuple[str, str, str]] = {}
    rows = []
    for label, kind, status, who in (
        ("work", "employment", "employed", "parent_carer"),
        ("home", "housing", "secure", "parent_carer"),
        ("money", "financial", "debt_repayment_plan_kept", "parent_carer"),
        ("neet", "neet", "in_training", "young_person"),
        ("none", None, None, None),
        ("short", "housing", "secure", "parent_carer"),
    ):
        adult, young = kit.person("parent_carer", "1980-01-01"), kit.person("young_person", "2008-03-03")
        data = kit.assessment(["living_standards", "education"], [adult, young], framework="families-first")
        data["framework_version"] = "2"
        await send_event(outcomes_client, "case.assessment_completed", data)
        pid = young["person_id"] if who == "young_person" else adult["person_id"]
        if kind:
            rows.append(_status(kind, pid, status or "", "2025-08-01" if label == "short" else "2025-02-01"))
        families[label] = (data["family_id"], pid, kind or "")
    # An adult's NEET status does not count (the measure is for young people).
    rows.append(_status("neet", families["none"][1], "in_training", "2025-02-01"))
    loaded = await outcomes_client.post("/v1/observations", json={"rows": rows}, headers=ANALYST)
    assert loaded.status_code == 200 and loaded.json()["rows_loaded"] == len(rows), loaded.text
    run = await outcomes_client.post("/v1/evaluations", json={"as_of": "2025-09-30"}, headers=ANALYST)
    assert run.status_code == 201, run.text

    results = {}
    for label, (family_id, _, _) in families.items():
        progress = (await outcomes_client.get(f"/v1/families/{family_id}/progress", headers=ANALYST)).json()
        need = next(n for n in progress["needs"] if n["need"] == "living_standards")
        results[label] = (need["met"], need["reason"])
    for label in ("work", "home", "money", "neet"):
        kind = families[label][2]
        assert results[label] == (
            True,
            f"continuous {kind} since 2025-02-01, ongoing at the evaluation date; 26 weeks required",
        ), (label, results[label])
    assert results["none"] == (
        False,
        "no employment, housing, financial or neet period with status employed, self_employed, secure, stable, "
        "debt_repayment_plan_kept, in_education, in_employment, in_training",
    )
    assert results["short"][0] is False and results["short"][1].startswith("longest continuous housing spell 61 days")


async def test_phases_are_data_and_earned_autonomy_claims_are_outcome_evidence(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    before = (await outcomes_client.get("/v1/programme", headers=ANALYST)).json()
    assert (before["current"]["code"], before["current"]["source"], before["phases"]) == ("2022-2025", "setting", [])
    today = datetime.now(UTC).date()
    body = {
        "starts_on": (today - timedelta(days=200)).isoformat(),
        "ends_on": (today + timedelta(days=900)).isoformat(),
        "funding_model": "earned_autonomy",
    }
    assert (await outcomes_client.put("/v1/programme/phases/2026-2029", json=body, headers=ANALYST)).status_code == 403
    backwards = body | {"ends_on": "2020-01-01"}
    assert (await outcomes_client.put("/v1/programme/phases/x", json=backwards, headers=ADMIN)).status_code == 422
    defined = await outcomes_client.put("/v1/programme/phases/2026-2029", json=body, headers=ADMIN)
    assert defined.status_code == 200, defined.text
    assert (defined.json()["funding_model"], defined.json()["updated_by"]) == ("earned_autonomy", "admin-leeds@LCC")
    overlap = await outcomes_client.put(
        "/v1/programme/phases/2029-2032", json=body | {"funding_model": "payment_by_results"}, headers=ADMIN
    )
    assert overlap.status_code == 422 and "2026-2029" in overlap.json()["errors"][0]["detail"]
    now = (await outcomes_client.get("/v1/programme", headers=ANALYST)).json()
    assert (now["current"]["code"], now["current"]["source"]) == ("2026-2029", "defined")

    # A family assessed now is enrolled in the current phase; its claim is a record of outcome evidence.
    data = await met_family(outcomes_client, kit, ["education", "health", "crime"])
    claim = await outcomes_client.post(
        "/v1/claims", json={"family_id": data["family_id"], "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert claim.status_code == 201, claim.text
    assert (claim.json()["programme_phase"], claim.json()["funding_model"]) == ("2026-2029", "earned_autonomy")
    assert claim.json()["evidence"]["funding_model"] == "earned_autonomy"
    report = (await outcomes_client.get("/v1/reports/cohort", headers=ANALYST)).json()
    assert (report["programme_phase"], report["funding_model"]) == ("2026-2029", "earned_autonomy")
    async with outcomes_sessions() as session:
        audited = (
            await session.execute(
                text("SELECT record_id FROM audit_log WHERE record_type = 'programme_phase' ORDER BY seq")
            )
        ).all()
    assert [a[0] for a in audited] == ["2026-2029"]
