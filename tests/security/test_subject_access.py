"""Subject access requests: `earlyhelp sar` and `GET /v1/admin/subject-access` in each service.

The three service databases are clones of the migrated templates, named `<prefix><service>` as the CLI expects
(with its `--database-prefix`), loaded with the demo seed. The demo's cases and outcomes share people (outcomes
learns them from `case.assessment_completed`); the referrals demo invents its own people, so one of its
referral people is given the subject's UPN, making a referral that names the subject.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from earlyhelp.demo import case_events
from earlyhelp.sar import _transaction
from tests.cases.conftest import FrameworkServer
from tests.conftest import template_name
from tests.support import app_client, auth, drop_database, make_token

SERVICES = ("referrals", "cases", "outcomes")
DATABASES = (*SERVICES, "intelligence")
"""The CLI exports from every service's database (intelligence holds nothing about these subjects)."""
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Seeded:
    server_url: str
    prefix: str
    upn: str
    person_id: str
    family_id: str
    referral_id: str
    matched_referral_id: str
    other_upn: str
    other_person_id: str
    other_family_id: str

    def url(self, service: str) -> str:
        from shared.migrate import with_database

        return with_database(self.server_url, f"{self.prefix}{service}")


async def _seed(server_url: str, prefix: str) -> None:
    from cases.seed import seed_demo as seed_cases
    from outcomes.config import Settings as OutcomesSettings
    from outcomes.enrolment.endpoints import close_family_case, enrol_family
    from outcomes.seed import seed_demo as seed_outcomes
    from referrals.seed import seed_demo as seed_referrals

    async with _transaction(server_url, f"{prefix}referrals") as session:
        await seed_referrals(session, seed=7, count=12)
    async with _transaction(server_url, f"{prefix}cases") as session:
        await seed_cases(session, seed=7)
        completed, closed = await case_events(session)
    settings = OutcomesSettings()
    async with _transaction(server_url, f"{prefix}outcomes") as session:
        for data in completed:
            await enrol_family(session, settings, data.model_dump(mode="json"), actor="demo-seed")
        for closure in closed:
            await close_family_case(session, settings, closure.model_dump(mode="json"), actor="demo-seed")
        family_ids = [d.family_id for d in completed]
        await seed_outcomes(session, seed=7, family_ids=family_ids, settings=settings)


async def _two_subjects(seeded_prefix: str, server_url: str) -> dict[str, Any]:
    """Two people with UPNs in different enrolled families; the first gets a referral naming them."""
    from cases.models import FamilyMember, Person
    from outcomes.models import EnrolmentMember
    from outcomes.models import Person as OutcomesPerson

    async with _transaction(server_url, f"{seeded_prefix}outcomes") as session:
        enrolled = set(
            (
                await session.scalars(
                    select(OutcomesPerson.id)
                    .join(EnrolmentMember, EnrolmentMember.person_id == OutcomesPerson.id)
                    .where(OutcomesPerson.upn.is_not(None))
                )
            ).all()
        )
    async with _transaction(server_url, f"{seeded_prefix}cases") as session:
        rows = (
            await session.execute(
                select(Person, FamilyMember.family_id)
                .join(FamilyMember, FamilyMember.person_id == Person.id)
                .where(Person.id.in_(enrolled))
                .order_by(Person.id)
            )
        ).all()
    first_person, first_family = rows[0]
    other_person, other_family = next((p, f) for p, f in rows if f != first_family)
    async with _transaction(server_url, f"{seeded_prefix}referrals") as session:
        referral_id = (
            await session.execute(
                text(
                    "UPDATE referral_people SET upn = :upn WHERE id = "
                    "(SELECT id FROM referral_people ORDER BY referral_id, position LIMIT 1) RETURNING referral_id"
                ),
                {"upn": first_person.upn},
            )
        ).scalar_one()
        # a referral naming the subject without any identifier (a baby, say), matched to them by the person index
        matched_referral_id = (
            await session.execute(
                text(
                    "UPDATE referral_people SET nhs_number = NULL, upn = NULL, matched_person_id = :person WHERE id = "
                    "(SELECT id FROM referral_people WHERE referral_id <> :first ORDER BY referral_id, position "
                    "LIMIT 1) RETURNING referral_id"
                ),
                {"person": first_person.id, "first": referral_id},
            )
        ).scalar_one()
    return {
        "upn": first_person.upn,
        "person_id": str(first_person.id),
        "family_id": str(first_family),
        "referral_id": str(referral_id),
        "matched_referral_id": str(matched_referral_id),
        "other_upn": other_person.upn,
        "other_person_id": str(other_person.id),
        "other_family_id": str(other_family),
    }


@pytest.fixture(scope="module")
async def seeded(
    server_url: str, referrals_db: str, cases_db: str, outcomes_db: str, intelligence_db: str
) -> AsyncIterator[Seeded]:
    from tests.support.database import _admin

    prefix = f"sar_{uuid.uuid4().hex[:8]}_"
    conn = await _admin(server_url)
    try:
        for service in DATABASES:
            await conn.execute(f'CREATE DATABASE "{prefix}{service}" TEMPLATE "{template_name(service)}"')
    finally:
        await conn.close()
    try:
        await _seed(server_url, prefix)
        yield Seeded(server_url=server_url, prefix=prefix, **await _two_subjects(prefix, server_url))
    finally:
        for service in DATABASES:
            await drop_database(server_url, f"{prefix}{service}")


async def _exports(seeded: Seeded, service: str) -> list[tuple[str, str, str, str | None]]:
    async with _transaction(seeded.server_url, f"{seeded.prefix}{service}") as session:
        rows = await session.execute(
            text("SELECT actor, record_type, record_id, purpose FROM audit_log WHERE action = 'export' ORDER BY seq")
        )
        return [(r.actor, r.record_type, r.record_id, r.purpose) for r in rows]


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {str(item["id"]) for item in items}


async def test_cli_exports_the_person_from_all_three_services_and_audits_it(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "sar.json"
    env = {**os.environ, "DATABASE_URL": seeded.server_url}
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable, "-m", "earlyhelp.cli", "sar",
            "--upn", seeded.upn,
            "--out", str(out),
            "--html", str(tmp_path / "sar.html"),
            "--actor", "dpo-cli",
            "--database-prefix", seeded.prefix,
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert seeded.upn not in result.stderr + result.stdout  # the summary names no identifier
    document = json.loads(out.read_text())
    assert set(document) == {
        "subject", "referrals", "cases", "outcomes", "intelligence", "third_party_review", "generated_at"
    }  # fmt: skip
    assert document["intelligence"] == {"partner_records": [], "identified_families": [], "access_log": []}
    assert document["subject"]["upn"] == seeded.upn

    # found by UPN, and by the person index's match where the referral carried no identifier
    by_id = {r["id"]: r for r in document["referrals"]["referrals"]}
    assert set(by_id) == {seeded.referral_id, seeded.matched_referral_id}
    matched = [p for p in by_id[seeded.matched_referral_id]["people"] if p["data_subject"]]
    assert [p["matched_person_id"] for p in matched] == [seeded.person_id]
    referrals = [by_id[seeded.referral_id]]
    subject_entries = [p for p in referrals[0]["people"] if p["data_subject"]]
    assert [p["upn"] for p in subject_entries] == [seeded.upn]
    assert all(p.get("redacted") for p in referrals[0]["people"] if not p["data_subject"])
    assert referrals[0]["history"], "the referral's status history is exported"

    cases = document["cases"]
    assert [p["id"] for p in cases["people"]] == [seeded.person_id]
    assert seeded.family_id in _ids(cases["families"])
    assert seeded.other_family_id not in _ids(cases["families"])
    assert cases["cases"] and all(c["family_id"] == seeded.family_id for c in cases["cases"])
    assert any(c["assessments"] for c in cases["cases"])
    assert seeded.other_person_id not in json.dumps(cases)

    outcomes = document["outcomes"]
    assert [p["id"] for p in outcomes["people"]] == [seeded.person_id]
    assert {e["family_id"] for e in outcomes["enrolments"]} == {seeded.family_id}
    assert seeded.other_person_id not in json.dumps(outcomes)
    assert seeded.other_upn not in json.dumps(document)

    # the seed's accesses to the family are in the exported access log
    assert {row["record_id"] for row in outcomes["access_log"]} & ({seeded.family_id} | _ids(outcomes["enrolments"]))

    # the export itself is in every service's access log
    expected = {
        "referrals": {("referral", seeded.referral_id), ("referral", seeded.matched_referral_id)},
        "cases": {("person", seeded.person_id), ("family", seeded.family_id)}
        | {("case", c["id"]) for c in document["cases"]["cases"]},
        "outcomes": {("person", seeded.person_id)}
        | {("enrolment", e["id"]) for e in document["outcomes"]["enrolments"]},
    }
    for service in SERVICES:
        rows = [r for r in await _exports(seeded, service) if r[0] == "dpo-cli"]
        logged = {(record_type, record_id) for _, record_type, record_id, _ in rows}
        assert expected[service] <= logged, service
        assert {purpose for *_, purpose in rows} == {"subject access request"}
        assert seeded.other_person_id not in {record_id for _, _, record_id, _ in rows}

    # third parties' data is marked for review, in the JSON and in the readable bundle
    review = document["third_party_review"]
    marked = {(item["record_type"], item["record_id"]) for item in review}
    assert ("referral", seeded.referral_id) in marked
    assert {("assessment", a["id"]) for c in cases["cases"] for a in c["assessments"]} <= marked
    assert {("enrolment", e["id"]) for e in outcomes["enrolments"]} <= marked
    page = (tmp_path / "sar.html").read_text()
    assert page.count('class="flag">REVIEW<') >= len(marked)
    assert seeded.referral_id in page and "<script" not in page and seeded.other_upn not in page


def test_cli_refuses_a_bad_identifier() -> None:
    from typer.testing import CliRunner

    from earlyhelp.cli import app

    for args in (["--nhs-number", "1234567890"], ["--upn", "H801200001000"], []):
        result = CliRunner().invoke(app, ["sar", *args])
        assert result.exit_code == 2, result.output
        assert "--nhs-number" in result.output or "--upn" in result.output


@pytest.fixture(scope="module")
async def apps(seeded: Seeded, framework_server: FrameworkServer) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    from cases.app import create_app as cases_app
    from cases.config import Settings as CasesSettings
    from outcomes.app import create_app as outcomes_app
    from outcomes.config import Settings as OutcomesSettings
    from referrals.app import create_app as referrals_app
    from referrals.config import Settings as ReferralsSettings

    async with (
        app_client(referrals_app, ReferralsSettings, seeded.url("referrals"), rate_limit_per_second=0) as referrals,
        app_client(
            cases_app, CasesSettings, seeded.url("cases"), outcomes_url=framework_server.url, rate_limit_per_second=0
        ) as cases,
        app_client(outcomes_app, OutcomesSettings, seeded.url("outcomes"), rate_limit_per_second=0) as outcomes,
    ):
        yield {"referrals": referrals, "cases": cases, "outcomes": outcomes}


ADMIN = auth(make_token("admin", sub="dpo-api", agency="LCC", agency_type="council", hubs=["north"]))
PATH = "/v1/admin/subject-access"


async def test_admin_api_exports_the_person_and_audits_it(seeded: Seeded, apps: dict[str, httpx.AsyncClient]) -> None:
    bodies = {}
    for service, client in apps.items():
        response = await client.get(PATH, params={"upn": seeded.upn}, headers=ADMIN)
        assert response.status_code == 200, (service, response.text)
        bodies[service] = response.json()
    assert _ids(bodies["referrals"]["referrals"]) == {seeded.referral_id}
    assert _ids(bodies["cases"]["people"]) == {seeded.person_id}
    assert _ids(bodies["outcomes"]["people"]) == {seeded.person_id}
    for service in SERVICES:
        assert seeded.other_person_id not in json.dumps(bodies[service])
        rows = [r for r in await _exports(seeded, service) if r[0] == "dpo-api@LCC"]
        assert rows, service
        assert {purpose for *_, purpose in rows} == {"subject access request"}
    cases_logged = {(t, i) for _, t, i, _ in await _exports(seeded, "cases")}
    assert ("person", seeded.person_id) in cases_logged

    # a second export lists the first one in the subject's access log
    again = await apps["cases"].get(PATH, params={"upn": seeded.upn}, headers=ADMIN)
    assert any(
        row["action"] == "export" and row["record_id"] == seeded.person_id and row["actor"] == "dpo-api@LCC"
        for row in again.json()["access_log"]
    )


async def test_a_person_held_nowhere_exports_empty(apps: dict[str, httpx.AsyncClient]) -> None:
    response = await apps["cases"].get(PATH, params={"nhs_number": "9434765919", "upn": "H801200001001"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["people"] == [] and response.json()["cases"] == []


@pytest.mark.parametrize("role", ["practitioner", "hub_manager", "analyst", "auditor", "partner_system", "service"])
async def test_only_admins_may_export(seeded: Seeded, apps: dict[str, httpx.AsyncClient], role: str) -> None:
    headers = auth(make_token(role, agency="LCC", agency_type="council", hubs=["north"]))
    for service, client in apps.items():
        response = await client.get(PATH, params={"upn": seeded.upn}, headers=headers)
        assert response.status_code == 403, (service, role, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for service, client in apps.items():
        response = await client.get(PATH, params={"upn": seeded.upn})
        assert response.status_code == 401, service


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({}, "#query/nhs_number"),
        ({"nhs_number": "1234567890"}, "#query/nhs_number"),
        ({"nhs_number": "not a number"}, "#query/nhs_number"),
        ({"upn": "H801200001000"}, "#query/upn"),
    ],
)
async def test_bad_identifiers_are_422(
    apps: dict[str, httpx.AsyncClient], params: dict[str, str], pointer: str
) -> None:
    for service, client in apps.items():
        response = await client.get(PATH, params=params, headers=ADMIN)
        assert response.status_code == 422, (service, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert pointer in {e["pointer"] for e in problem["errors"]}, problem
