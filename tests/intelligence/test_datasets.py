"""Partner dataset imports through HTTP: every kind loads, bad rows are reported by line and column, the same
file again changes nothing, a changed row is updated, and special category data needs its own permission."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intelligence.datasets.kinds import KINDS
from intelligence.models import PartnerRecord
from tests.intelligence.conftest import AGENCY, ANALYST, example, import_file
from tests.support import auth, make_token


async def _records(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[PartnerRecord]:
    async with sessions() as session:
        return list((await session.execute(select(PartnerRecord).where(PartnerRecord.kind == kind))).scalars())


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_every_example_file_imports_cleanly(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession], kind: str
) -> None:
    response = await import_file(intelligence_client, kind)
    assert response.status_code == 200, response.text
    report = response.json()
    lines = example(kind).read_text().strip().count("\n")
    assert report["rows_total"] == lines
    assert report["rows_loaded"] == lines
    assert report["rows_rejected"] == 0 and report["errors"] == []
    assert report["lawful_basis"] == "6(1)(e)"
    records = await _records(intelligence_sessions, kind)
    assert len(records) == lines
    assert all(r.source_agency == AGENCY[kind] and r.event_date is not None for r in records)


async def test_typed_values_and_normalised_identifiers(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = (
        b"record_id,given_name,family_name,postcode,uprn,nhs_number,school_urn,term_end,attendance_percent,"
        b"suspensions,permanently_excluded\n"
        b"R1,  Ada ,Lovelace,ls7  3ab,00072001001,940 001 0028,107001,2026-07-22,88.25,2,yes\n"
    )
    response = await import_file(intelligence_client, "school_census", body)
    assert response.status_code == 200, response.text
    [record] = await _records(intelligence_sessions, "school_census")
    assert (record.given_name, record.postcode, record.uprn, record.nhs_number) == (
        "Ada",
        "LS7 3AB",
        "72001001",
        "9400010028",
    )
    assert record.attributes == {
        "school_urn": "107001",
        "term_end": "2026-07-22",
        "attendance_percent": 88.25,
        "suspensions": 2,
        "permanently_excluded": True,
    }
    assert str(record.event_date) == "2026-07-22"


async def test_bad_rows_are_reported_by_line_and_column_and_good_rows_load(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = (
        b"record_id,given_name,family_name,date_of_birth,nhs_number,incident_date,incident_type,role\n"
        b"P1,Ann,Lee,1990-01-01,,2026-05-01,asb,suspect\n"
        b"P2,Bob,Lee,1990-13-01,,2026-05-01,burglary,suspect\n"
        b",Cat,Lee,,1234567890,2026-05-01,offence,victim\n"
        b"P1,Ann,Lee,1990-01-01,,2026-05-02,asb,suspect\n"
        b"P5,Dan,Lee,,,,offence\n"
    )
    response = await import_file(intelligence_client, "police_incident", body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows_total"], report["rows_loaded"], report["rows_rejected"]) == (5, 1, 4)
    errors = {(e["line"], e["column"]) for e in report["errors"]}
    assert {(3, "date_of_birth"), (3, "incident_type"), (4, "record_id"), (4, "nhs_number"), (5, "record_id")} <= errors
    assert (6, "role") in errors
    assert [r.record_id for r in await _records(intelligence_sessions, "police_incident")] == ["P1"]


async def test_the_same_file_again_changes_nothing_and_a_changed_row_is_updated(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = (await import_file(intelligence_client, "housing")).json()
    before = {(r.record_id, r.row_hash, r.import_id) for r in await _records(intelligence_sessions, "housing")}
    again = (await import_file(intelligence_client, "housing")).json()
    assert again["duplicate_of"] == first["import_id"]
    assert (again["rows_loaded"], again["rows_updated"], again["rows_unchanged"]) == (0, 0, first["rows_total"])
    assert {(r.record_id, r.row_hash, r.import_id) for r in await _records(intelligence_sessions, "housing")} == before

    changed = example("housing").read_bytes().replace(b"at_risk,2026-08-15", b"homeless,2026-11-20")
    report = (await import_file(intelligence_client, "housing", changed)).json()
    assert (report["rows_loaded"], report["rows_updated"], report["rows_unchanged"]) == (0, 1, 1)
    statuses = {r.record_id: r.attributes["status"] for r in await _records(intelligence_sessions, "housing")}
    assert statuses == {"H-5501": "homeless", "H-5502": "rent_arrears"}


async def test_health_data_needs_its_permission_and_an_article_9_condition(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    refused = await import_file(intelligence_client, "health", headers=ANALYST)
    assert refused.status_code == 403
    missing = await import_file(intelligence_client, "health", special_category_condition="")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"] == "#query/special_category_condition"
    ok = await import_file(intelligence_client, "health")
    assert ok.status_code == 200
    assert ok.json()["special_category_condition"] == "9(2)(h)"
    not_health = await import_file(intelligence_client, "neet", special_category_condition="9(2)(h)")
    assert not_health.status_code == 422
    assert len(await _records(intelligence_sessions, "health")) == 1


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"kind": "bank_statements"}, "#query/kind"),
        ({"lawful_basis": "consent"}, "#query/lawful_basis"),
    ],
)
async def test_bad_query_is_a_problem_naming_the_field(
    intelligence_client: httpx.AsyncClient, params: dict[str, str], pointer: str
) -> None:
    query = {"kind": "neet", "source_agency": "LCC", "sharing_agreement": "DSA-1"} | params
    response = await intelligence_client.post(
        "/v1/datasets", params=query, content=example("neet").read_bytes(), headers=ANALYST
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["pointer"] == pointer


async def test_bad_header_is_a_problem_naming_the_column(intelligence_client: httpx.AsyncClient) -> None:
    response = await import_file(intelligence_client, "neet", b"record_id,colour\nA,blue\n")
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"#line/1/colour", "#line/1/status", "#line/1/status_date"} <= pointers


@pytest.mark.parametrize("roles", [("partner_system",), ("practitioner",), ("hub_manager",)])
async def test_only_analysts_import(intelligence_client: httpx.AsyncClient, roles: tuple[str, ...]) -> None:
    headers = auth(make_token(*roles, agency="WYP", agency_type="police", hubs=["north"]))
    assert (await import_file(intelligence_client, "neet", headers=headers)).status_code == 403
    assert (await intelligence_client.get("/v1/datasets", headers=headers)).status_code == 403


async def test_summary_lists_datasets_with_their_retention(intelligence_client: httpx.AsyncClient) -> None:
    await import_file(intelligence_client, "neet", retention_days=30)
    await import_file(intelligence_client, "social_care")
    summary = (await intelligence_client.get("/v1/datasets", headers=ANALYST)).json()
    assert [(s["kind"], s["records"], s["imports"]) for s in summary] == [("neet", 1, 1), ("social_care", 1, 1)]
    assert all(s["retain_until"] for s in summary)


async def test_raw_rows_past_retention_are_deleted(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import date, timedelta

    from intelligence.datasets.repository import DatasetsRepository

    await import_file(intelligence_client, "neet", retention_days=1)
    await import_file(intelligence_client, "social_care", retention_days=30)
    async with intelligence_sessions() as session:
        deleted = await DatasetsRepository(session).delete_expired(date.today() + timedelta(days=2))
        await session.commit()
    assert deleted == 1
    assert await _records(intelligence_sessions, "neet") == []
    assert len(await _records(intelligence_sessions, "social_care")) == 1
