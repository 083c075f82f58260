"""The outcomes API through HTTP: frameworks, events, CSV import, evaluation, progress, claims, reports, access."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.app import create_app
from outcomes.config import Settings
from tests.outcomes.support import met_family, send_event
from tests.support import app_client, auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))
AUDITOR = auth(make_token("auditor", agency="LCC", agency_type="council"))
ADMIN = auth(make_token("admin", agency="LCC", agency_type="council"))
SERVICE = auth(make_token("service", sub="service:cases"))
PARTNER = auth(make_token("partner_system", agency="SCH-LS-001", agency_type="school"))
NORTH_PRACTITIONER = auth(make_token("practitioner", agency="LCC", agency_type="council", hubs=["north"]))
SOUTH_MANAGER = auth(make_token("hub_manager", agency="LCC", agency_type="council", hubs=["south"]))
NORTH_MANAGER = auth(make_token("hub_manager", agency="LCC", agency_type="council", hubs=["north"]))


async def claimable_family(client: httpx.AsyncClient, kit: Any, hub: str = "north") -> tuple[str, dict[str, Any]]:
    """A family with three needs all met and sustained on 2026-01-31 (closed 2025-07-01)."""
    data = await met_family(client, kit, ["education", "crime", "health"], hub=hub, evidence="CAMHS discharge letter")
    return data["family_id"], data


# --- frameworks --------------------------------------------------------------------------------------------


async def test_frameworks_are_loaded_and_cacheable(outcomes_client: httpx.AsyncClient) -> None:
    listing = await outcomes_client.get("/v1/frameworks", headers=SERVICE)
    assert listing.status_code == 200
    codes = {(f["code"], f["active"]) for f in listing.json()["items"]}
    assert ("supporting-families-2022", True) in codes and ("families-first", False) in codes

    active = await outcomes_client.get("/v1/frameworks/active", headers=SERVICE)
    assert active.status_code == 200
    body = active.json()
    assert body["code"] == "supporting-families-2022" and body["min_needs"] == 3 and body["sustain_months"] == 6
    assert body["requires_dependent_children"] is True
    assert [n["code"] for n in body["needs"]] == [
        "education",
        "early_years",
        "health",
        "substance_use",
        "family_relationships",
        "child_safety",
        "crime",
        "domestic_abuse",
        "housing",
        "financial_stability",
    ]
    rules = {n["code"]: n["rule"] for n in body["needs"]}
    assert rules["education"] == {
        "kind": "attendance_threshold",
        "params": {"min_percent": 90.0, "terms": 3, "suspensions_fewer_than": 3},
    }
    assert rules["crime"]["params"]["measures"] == [
        {"kind": "offence", "percent": 33.0},
        {"kind": "asb", "percent": 60.0},
    ]
    assert rules["financial_stability"]["params"]["weeks"] == 26
    etag = active.headers["etag"]
    cached = await outcomes_client.get("/v1/frameworks/active", headers={**SERVICE, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.headers["etag"] == etag

    leeds = await outcomes_client.get("/v1/frameworks/families-first", headers=NORTH_PRACTITIONER)
    assert leeds.json()["min_needs"] == 2
    assert [n["code"] for n in leeds.json()["needs"]] == [
        "childrens_life_chances",
        "education",
        "safe_in_community",
        "safe_in_relationships",
        "living_standards",
        "health_wellbeing",
    ]
    assert (await outcomes_client.get("/v1/frameworks/nope", headers=SERVICE)).status_code == 404
    assert (await outcomes_client.get("/v1/frameworks", headers=PARTNER)).status_code == 403
    assert (await outcomes_client.get("/v1/frameworks")).status_code == 401


async def test_admin_loads_a_council_framework_and_malformed_is_refused(outcomes_client: httpx.AsyncClient) -> None:
    current = (await outcomes_client.get("/v1/frameworks/families-first", headers=ADMIN)).json()
    bad = json.loads(json.dumps(current))
    bad["version"] = "3"
    bad["needs"][1]["rule"]["params"]["min_percent"] = 120
    bad["needs"][2]["rule"]["kind"] = "astrology"
    response = await outcomes_client.post("/v1/frameworks", json=bad, headers=ADMIN)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert "/needs/1/rule/attendance_threshold/params/min_percent" in pointers
    assert any(p.startswith("/needs/2/rule") for p in pointers)

    duplicate = json.loads(json.dumps(current))
    duplicate["version"] = "3"
    duplicate["needs"][3]["code"] = "education"
    response = await outcomes_client.post("/v1/frameworks", json=duplicate, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/needs/3/code"

    good = json.loads(json.dumps(current))
    good["version"] = "3"
    good["needs"][1]["rule"]["params"]["min_percent"] = 92.5
    assert (await outcomes_client.post("/v1/frameworks", json=good, headers=ANALYST)).status_code == 403
    created = await outcomes_client.post("/v1/frameworks", json=good, headers=ADMIN)
    assert created.status_code == 201, created.text
    now = (await outcomes_client.get("/v1/frameworks/families-first", headers=ADMIN)).json()
    assert now["version"] == "3" and now["needs"][1]["rule"]["params"]["min_percent"] == 92.5
    old = await outcomes_client.get("/v1/frameworks/families-first?version=2", headers=ADMIN)
    assert old.json()["needs"][1]["rule"]["params"]["min_percent"] == 90.0
    again = await outcomes_client.post("/v1/frameworks", json=good, headers=ADMIN)
    assert again.status_code == 409


# --- events and CSV import ---------------------------------------------------------------------------------


async def test_enrolment_events_are_idempotent(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    data = kit.assessment(["education", "crime", "health"], [kit.person("child", "2015-01-01")])
    event_id = str(uuid.uuid4())
    assert (await send_event(outcomes_client, "case.assessment_completed", data, event_id))["status"] == "processed"
    assert (await send_event(outcomes_client, "case.assessment_completed", data, event_id))["status"] == "duplicate"
    await send_event(
        outcomes_client,
        "case.closed",
        {"case_id": data["case_id"], "family_id": data["family_id"], "closed_on": "2025-08-01", "outcome": "needs_met"},
    )
    async with outcomes_sessions() as session:
        row = (
            await session.execute(
                text("SELECT count(*) OVER (), closed_on, needs FROM enrolments WHERE family_id = :f"),
                {"f": data["family_id"]},
            )
        ).one()
    assert row[0] == 1 and str(row[1]) == "2025-08-01" and sorted(row[2]) == ["crime", "education", "health"]


CSV_HEADER = "upn,person_id,term_start,term_end,possible_sessions,attended_sessions,suspensions,permanently_excluded\n"


async def test_csv_import_bad_rows_unknown_people_and_reimport(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    child = kit.person("child", "2015-01-01", upn="H801200001001")
    data = kit.assessment(["education", "crime", "health"], [child])
    await send_event(outcomes_client, "case.assessment_completed", data)
    pid = child["person_id"]
    body = (
        CSV_HEADER
        + "H801200001001,,2025-01-06,2025-03-28,100,95,0,false\n"  # line 2: by UPN
        + f",{pid},2025-04-22,2025-07-18,100,90,1,no\n"  # line 3: by person id
        + f",{pid},2025-09-03,2025-13-01,100,90,0,false\n"  # line 4: bad date
        + f",{pid},2025-09-03,2025-12-19,100,101,0,maybe\n"  # line 5: attended > possible, bad boolean
        + "Z999999999999,,2025-09-03,2025-12-19,100,90,0,false\n"  # line 6: nobody enrolled
        + f",{pid},2025-09-03,2025-12-19,100,90,0,false\n"  # line 7: good
        + ",,2025-09-03,2025-12-19,100,90,0,false\n"  # line 8: no person
    )
    url = "/v1/observations/import?kind=attendance&source_agency=SCH-LS-001"
    response = await outcomes_client.post(url, content=body, headers={**ANALYST, "content-type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows_total"], report["rows_loaded"], report["rows_rejected"], report["rows_unknown_person"]) == (
        7,
        3,
        3,
        1,
    )
    errors = {(e["line"], e["column"], e["reason"]) for e in report["errors"]}
    assert errors == {
        (4, "term_end", "not a date (YYYY-MM-DD)"),
        (5, "attended_sessions", "more than possible_sessions"),
        (5, "permanently_excluded", "not true or false"),
        (8, "person_id", "one of person_id, nhs_number or upn is required"),
    }
    import_id = report["import_ids"][0]
    async with outcomes_sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT source_agency, import_id::text, suspensions FROM attendance_records WHERE person_id = :p "
                    "ORDER BY term_start"
                ),
                {"p": pid},
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("SCH-LS-001", import_id)] * 3
    assert [r[2] for r in rows] == [0, 1, 0]

    again = await outcomes_client.post(url, content=body, headers={**ANALYST, "content-type": "text/csv"})
    assert again.json()["rows_loaded"] == 0 and again.json()["rows_already_present"] == 3
    async with outcomes_sessions() as session:
        count = (
            await session.execute(
                text("SELECT count(*), min(import_id::text) FROM attendance_records WHERE person_id = :p"), {"p": pid}
            )
        ).one()
    assert tuple(count) == (3, import_id)


async def test_csv_import_refuses_bad_headers_and_broken_files(outcomes_client: httpx.AsyncClient) -> None:
    headers = {**ANALYST, "content-type": "text/csv"}
    wrong = await outcomes_client.post(
        "/v1/observations/import?kind=attendance", content="person_id,colour\nx,y\n", headers=headers
    )
    assert wrong.status_code == 422
    details = " ".join(e["detail"] for e in wrong.json()["errors"])
    assert "unknown column 'colour'" in details and "missing required column 'term_start'" in details
    broken = await outcomes_client.post(
        "/v1/observations/import?kind=offence",
        content="person_id,occurred_on\n" + f"{uuid.uuid4()},2025-01-01\n" + f"{uuid.uuid4()},2025-01-01,extra\n",
        headers=headers,
    )
    assert broken.status_code == 422
    assert broken.json()["line"] == 3
    unknown = await outcomes_client.post("/v1/observations/import?kind=weather", content="a\n", headers=headers)
    assert unknown.status_code == 422
    assert (
        await outcomes_client.post(
            "/v1/observations/import?kind=asb",
            content="person_id,occurred_on\n",
            headers={**NORTH_PRACTITIONER, "content-type": "text/csv"},
        )
    ).status_code == 403


async def test_json_batch_validation_names_the_row(outcomes_client: httpx.AsyncClient) -> None:
    response = await outcomes_client.post(
        "/v1/observations",
        headers=ANALYST,
        json={
            "rows": [
                {"kind": "offence", "person_id": str(uuid.uuid4()), "occurred_on": "2025-01-01"},
                {"kind": "offence", "person_id": str(uuid.uuid4()), "occurred_on": "yesterday"},
            ]
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"].startswith("/rows/1/")
    too_many = await outcomes_client.post(
        "/v1/observations",
        headers=ANALYST,
        json={"rows": [{"kind": "asb", "person_id": str(uuid.uuid4()), "occurred_on": "2025-01-01"}] * 10_001},
    )
    assert too_many.status_code == 422


# --- evaluation, progress, claims --------------------------------------------------------------------------


async def test_evaluate_progress_claim_sample_validate_export(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    family_id, _ = await claimable_family(outcomes_client, kit)
    unclaimable = kit.assessment(["education", "crime", "health"], [kit.person("child", "2015-01-01")])
    await send_event(outcomes_client, "case.assessment_completed", unclaimable)

    run = await outcomes_client.post("/v1/evaluations", json={"as_of": "2026-01-31"}, headers=ANALYST)
    assert run.status_code == 201, run.text
    assert run.json()["families"] >= 2

    progress = await outcomes_client.get(f"/v1/families/{family_id}/progress", headers=NORTH_MANAGER)
    assert progress.status_code == 200, progress.text
    body = progress.json()
    assert body["claimable"] is True
    needs = {n["need"]: n for n in body["needs"]}
    assert needs["education"]["met"] and needs["education"]["sustained"]
    assert len(needs["education"]["evidence"]) == 3
    assert needs["education"]["evidence"][0]["fields"]["attended_sessions"] == 95
    # Another hub's family looks exactly like an unknown one: a 403 would disclose that the id exists (F5).
    other_hub = await outcomes_client.get(f"/v1/families/{family_id}/progress", headers=SOUTH_MANAGER)
    unknown_id = uuid.uuid4()
    unknown = await outcomes_client.get(f"/v1/families/{unknown_id}/progress", headers=SOUTH_MANAGER)
    assert other_hub.status_code == unknown.status_code == 404
    assert other_hub.headers["content-type"] == unknown.headers["content-type"] == "application/problem+json"
    assert set(other_hub.json()) == set(unknown.json())
    assert other_hub.json()["title"] == unknown.json()["title"]
    assert other_hub.json()["detail"] == unknown.json()["detail"].replace(str(unknown_id), family_id)
    assert (await outcomes_client.get(f"/v1/families/{family_id}/progress", headers=PARTNER)).status_code == 403
    batch = await outcomes_client.get(
        f"/v1/progress?family_ids={family_id},{unclaimable['family_id']},{uuid.uuid4()}", headers=SERVICE
    )
    assert {p["family_id"]: p["claimable"] for p in batch.json()["items"]} == {
        family_id: True,
        unclaimable["family_id"]: False,
    }
    hidden = await outcomes_client.get(f"/v1/progress?family_ids={family_id}", headers=SOUTH_MANAGER)
    assert hidden.json()["items"] == []

    refused = await outcomes_client.post(
        "/v1/claims", json={"family_id": unclaimable["family_id"], "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert refused.status_code == 422 and refused.json()["title"] == "Not claimable"
    assert {e["pointer"] for e in refused.json()["errors"]} == {"/needs/education", "/needs/crime", "/needs/health"}

    created = await outcomes_client.post(
        "/v1/claims", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert created.status_code == 201, created.text
    claim = created.json()
    snapshot = claim["evidence"]
    digest = hashlib.sha256(json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert claim["evidence_sha256"] == digest and claim["practitioner_assessed"] is True
    assert {n["need"] for n in snapshot["needs"]} == {"education", "crime", "health"}
    twice = await outcomes_client.post(
        "/v1/claims", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST
    )
    assert twice.status_code == 409 and "already been claimed" in twice.json()["detail"]

    sample = await outcomes_client.post("/v1/claims/audit-sample", json={"rate": 0.01, "seed": 7}, headers=AUDITOR)
    assert sample.status_code == 201
    assert sample.json()["claim_ids"] == [claim["id"]]
    assert (
        await outcomes_client.post("/v1/claims/audit-sample", json={"rate": 0.5, "seed": 7}, headers=ANALYST)
    ).status_code == 403

    no_reason = await outcomes_client.post(
        f"/v1/claims/{claim['id']}/decision", json={"decision": "rejected"}, headers=AUDITOR
    )
    assert no_reason.status_code == 422
    decided = await outcomes_client.post(
        f"/v1/claims/{claim['id']}/decision", json={"decision": "validated"}, headers=AUDITOR
    )
    assert decided.status_code == 200 and decided.json()["status"] == "validated"
    assert (
        await outcomes_client.post(
            f"/v1/claims/{claim['id']}/decision", json={"decision": "validated"}, headers=AUDITOR
        )
    ).status_code == 409

    period = datetime.now(UTC).strftime("%Y-%m")
    export = await outcomes_client.get(f"/v1/claims/export?period={period}", headers=AUDITOR)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["claim_id"], r["evidence_sha256"]) for r in rows] == [(claim["id"], digest)]
    assert (await outcomes_client.get("/v1/claims/export?period=2026-13", headers=AUDITOR)).status_code == 422

    listed = await outcomes_client.get(f"/v1/claims?family_ids={family_id}&status=validated", headers=SERVICE)
    assert [c["id"] for c in listed.json()["items"]] == [claim["id"]]
    assert (await outcomes_client.get("/v1/claims", headers=NORTH_PRACTITIONER)).status_code == 403
    detail = await outcomes_client.get(f"/v1/claims/{claim['id']}", headers=AUDITOR)
    assert detail.json()["evidence"] == snapshot

    async with outcomes_sessions() as session:
        audited = (
            await session.execute(
                text("SELECT count(*) FROM audit_log WHERE record_type = 'family_progress' AND record_id = :f"),
                {"f": family_id},
            )
        ).scalar_one()
    assert audited >= 3

    report = await outcomes_client.get("/v1/reports/cohort", headers=ANALYST)
    assert report.status_code == 200
    assert report.json()["families_claimed"] >= 1
    assert family_id not in report.text
    report_csv = await outcomes_client.get("/v1/reports/cohort?format=csv", headers=ANALYST)
    assert report_csv.text.startswith("section,key,") and family_id not in report_csv.text
    assert (await outcomes_client.get("/v1/reports/cohort", headers=AUDITOR)).status_code == 403
    assert (await outcomes_client.get("/v1/reports/cohort", headers=PARTNER)).status_code == 403


async def test_audit_sample_is_reproducible(kit: Any) -> None:
    from outcomes.claims.service import sample_claims

    population = [(uuid.UUID(int=i), i % 10 == 0) for i in range(1, 201)]
    first = sample_claims(population, 0.1, 42)
    assert first == sample_claims(list(reversed(population)), 0.1, 42)
    assert len(first[0]) == 20  # ceil(0.1 × 200)
    assert first[0] != sample_claims(population, 0.1, 43)[0]
    forced = {c for c, assessed in population if assessed}
    assert forced == set(first[1]) | (forced & set(first[0]))


async def test_claims_once_per_phase_under_concurrency(fresh_outcomes_db: str, kit: Any) -> None:
    async with app_client(create_app, Settings, fresh_outcomes_db) as client:
        family_id, _ = await claimable_family(client, kit)
        responses = await asyncio.gather(
            *(
                client.post("/v1/claims", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST)
                for _ in range(5)
            )
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409, 409, 409, 409], [r.text for r in responses]
        engine_url = fresh_outcomes_db
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.db import async_url

    engine = create_async_engine(async_url(engine_url))
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(select(func.count()).select_from(text("claims")))).scalar_one()
    finally:
        await engine.dispose()
    assert stored == 1


async def test_a_retried_claim_with_its_idempotency_key_is_the_same_claim(fresh_outcomes_db: str, kit: Any) -> None:
    """A claim whose answer was lost is retried with its key: the first claim again (201, replayed), not the
    once-per-phase 409 — concurrently too; a different body under the key is refused."""
    async with app_client(create_app, Settings, fresh_outcomes_db) as client:
        family_id, _ = await claimable_family(client, kit)
        body = {"family_id": family_id, "as_of": "2026-01-31"}
        keyed = ANALYST | {"Idempotency-Key": "claim-2026-01-31-" + family_id}
        responses = await asyncio.gather(*(client.post("/v1/claims", json=body, headers=keyed) for _ in range(5)))
        assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
        assert len({r.json()["id"] for r in responses}) == 1
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 4
        changed = await client.post("/v1/claims", json=body | {"as_of": "2026-02-01"}, headers=keyed)
        assert changed.status_code == 422 and changed.json()["errors"][0]["pointer"] == "#header/Idempotency-Key"
        unkeyed = await client.post("/v1/claims", json=body, headers=ANALYST)
        assert unkeyed.status_code == 409  # without the key, a second claim is the once-per-phase conflict


async def test_cohort_report_reads_from_the_read_replica_when_configured(
    fresh_outcomes_db: str, outcomes_db: str, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    """With a read replica configured, the report is served from it (here a replica that has not caught up).

    `fresh_outcomes_db` comes first: cloning the template needs it free of the rolled-back session's connection.
    """
    data = kit.assessment(["education", "crime", "health"], [kit.person("child", "2015-05-01")], hub="north")
    async with app_client(
        create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions, read_replica_url=fresh_outcomes_db
    ) as client:
        await send_event(client, "case.assessment_completed", data)
        from_replica = (await client.get("/v1/reports/cohort", headers=ANALYST)).json()
    async with app_client(create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions) as client:
        from_primary = (await client.get("/v1/reports/cohort", headers=ANALYST)).json()
    assert from_replica["families_enrolled"] == 0
    assert from_primary["families_enrolled"] >= 1


async def test_claims_export_period_is_ascii_digits_and_names_the_file(outcomes_client: httpx.AsyncClient) -> None:
    """Issue 19, finding H: a newline or another script's digits in `period` is a 422, never a header."""
    for raw in ("2026%0A", "2026%0D%0AX-Injected:%201", "%D9%A2%D9%A0%D9%A2%D9%A6", "２０２６", "2026-%D9%A3"):
        response = await outcomes_client.get(f"/v1/claims/export?period={raw}", headers=AUDITOR)
        assert response.status_code == 422, (raw, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "content-disposition" not in response.headers and "x-injected" not in response.headers
        assert [e["pointer"] for e in response.json()["errors"]] == ["#query/period"], raw
    listed = await outcomes_client.get("/v1/claims?period=2026%0A", headers=AUDITOR)
    assert listed.status_code == 422 and listed.json()["errors"][0]["pointer"] == "#query/period"
    for period in ("2026", "2026-Q2", "2026-03"):
        response = await outcomes_client.get(f"/v1/claims/export?period={period}", headers=AUDITOR)
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"] == f'attachment; filename="claims-{period}.csv"'
