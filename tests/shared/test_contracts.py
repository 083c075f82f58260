"""The contracts in `shared.contracts` hold: every producer's events fit their models exactly, docs/contracts.md
says what the models say, and the framework fallback is the built-in frameworks' codes.

The producers are run for real (their HTTP APIs on the migrated databases) and their outbox rows read back, so a
field added to or dropped from a payload anywhere fails here until the model (and the doc) follow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import BUILT_IN_NEED_CODES, EVENT_TYPES, ActiveFramework, parse_event, source_of
from shared.contracts.markdown import SECTIONS, field_differences, generated_sections, render
from tests.cases.conftest import (
    ASSESSMENT,
    FrameworkServer,
    assign,
    close_case,
    framework_server,
    make_world,
    open_family_case,
    plan_body,
    post_event,
    referral_event,
)
from tests.referrals.conftest import create_maternity, hub_manager, partner
from tests.support import app_client, make_token
from tests.support.matching import match_in_process

__all__ = ["framework_server"]  # the cases tests' framework server, used here as a fixture

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DOC = ROOT / "docs" / "contracts.md"


async def _outbox(sessions: async_sessionmaker[AsyncSession]) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(text("SELECT type, source, data FROM outbox_events ORDER BY time"))).all())


def _check_fits(rows: list[Any], producer: str) -> set[str]:
    """Each row's data parses with its model and carries exactly the model's fields; returns the types seen."""
    seen = set()
    for row in rows:
        model = EVENT_TYPES[row.type]
        assert model.producer == producer, row.type
        assert row.source == source_of(producer), (row.type, row.source)
        payload = parse_event(row.type, row.data)
        assert set(row.data) == set(model.model_fields), (row.type, set(row.data) ^ set(model.model_fields))
        for name, value in row.data.items():  # nested objects too: no field the model does not name
            nested = payload.__dict__[name]  # (not getattr: a deprecated field warns when read)
            if isinstance(value, dict) and isinstance(nested, BaseModel):
                assert set(value) == set(type(nested).model_fields), (row.type, name)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                assert set(value[0]) == set(type(nested[0]).model_fields), (row.type, name)
        assert payload.data() == model.model_validate(payload.data()).data()  # the model round-trips
        seen.add(row.type)
    return seen


async def test_every_referrals_event_fits_its_contract(
    referrals_client: httpx.AsyncClient,
    referrals_sessions: async_sessionmaker[AsyncSession],
    cases_client: httpx.AsyncClient,
) -> None:
    client = referrals_client
    accepted = (await create_maternity(client)).json()
    assert await match_in_process(client, cases_client) == 1  # accepting waits for matching
    manager = hub_manager(accepted["hub"])
    screened = await client.post(f"/v1/referrals/{accepted['id']}/screening", headers=manager, json={"note": "Rang"})
    assert screened.status_code == 200, screened.text
    decided = await client.post(
        f"/v1/referrals/{accepted['id']}/decision", headers=manager, json={"outcome": "accepted", "reason": "Agreed"}
    )
    assert decided.status_code == 200, decided.text
    signposted = (await create_maternity(client)).json()
    decided = await client.post(
        f"/v1/referrals/{signposted['id']}/decision", headers=manager, json={"outcome": "signposted", "reason": "Help"}
    )
    assert decided.status_code == 200, decided.text
    withdrawn = (await create_maternity(client)).json()
    response = await client.post(f"/v1/referrals/{withdrawn['id']}/withdraw", headers=partner(), json={"reason": "x"})
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/v1/referrals/{accepted['id']}/consent-withdrawal",
        headers=partner(),
        json={"withdrawn_by": "mother", "method": "phone"},
    )
    assert response.status_code == 201, response.text

    seen = _check_fits(await _outbox(referrals_sessions), "referrals")
    assert seen == {t for t, m in EVENT_TYPES.items() if m.producer == "referrals"}


@pytest.fixture
async def cases_api(
    cases_db: str, cases_sessions: async_sessionmaker[AsyncSession], framework_server: FrameworkServer
) -> AsyncIterator[httpx.AsyncClient]:
    from cases.app import create_app
    from cases.config import Settings

    async with app_client(
        create_app, Settings, cases_db, sessionmaker=cases_sessions, outcomes_url=framework_server.url
    ) as client:
        yield client


async def test_every_cases_event_fits_its_contract(
    cases_api: httpx.AsyncClient, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    client = cases_api
    async with cases_sessions() as session:
        world = await make_world(session)
    _, case_id = await open_family_case(client, world)
    assert (await assign(client, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    response = await client.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)
    assert response.status_code == 201, response.text
    response = await client.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)
    assert response.status_code == 200, response.text
    closing = {"outcome": "needs_met", "reason": "Attendance back above 90%"}
    response = await close_case(client, case_id, closing, lead)
    assert response.status_code == 200, response.text
    # the referral.accepted consumer: a referral opens a case, a second one for the same pupil joins it
    first = referral_event(upn="H801200001057", family_name="Contract")
    assert (await post_event(client, first)).json()["status"] == "processed"
    second = referral_event(upn="H801200001057", family_name="Contract")
    assert (await post_event(client, second)).json()["status"] == "processed"
    # data protection: a legal hold placed and released, a person corrected and erased
    admin = {"Authorization": f"Bearer {make_token('admin', sub='dpo')}"}
    family_id = (await client.get(f"/v1/cases/{case_id}", headers=world.manager())).json()["family_id"]
    hold = await client.post(f"/v1/families/{family_id}/legal-holds", json={"reason": "proceedings"}, headers=admin)
    assert hold.status_code == 201, hold.text
    release = f"/v1/families/{family_id}/legal-holds/{hold.json()['id']}/release"
    assert (await client.post(release, json={"reason": "ended"}, headers=admin)).status_code == 200
    async with cases_sessions() as session:
        person_id = (await session.execute(text("SELECT id FROM people ORDER BY created_at LIMIT 1"))).scalar_one()
    fix = {"changes": {"family_name": "Corrected"}, "reason": "spelling"}
    assert (await client.post(f"/v1/people/{person_id}/rectification", json=fix, headers=admin)).status_code == 200
    erase = {"reason": "asked for erasure"}
    assert (await client.post(f"/v1/people/{person_id}/erasure", json=erase, headers=admin)).status_code == 200

    seen = _check_fits(await _outbox(cases_sessions), "cases")
    assert seen == {t for t, m in EVENT_TYPES.items() if m.producer == "cases"}


def test_the_accepted_referral_the_cases_tests_send_fits_the_contract() -> None:
    event = referral_event()
    assert parse_event("referral.accepted", event["data"]).model_dump(mode="json")["people"][0]["upn"]


def test_docs_contracts_says_what_the_models_say() -> None:
    text_ = CONTRACTS_DOC.read_text(encoding="utf-8")
    found = generated_sections(text_)
    assert set(found) == set(SECTIONS), "docs/contracts.md lost a generated section"
    for name in SECTIONS:
        assert found[name] == render(name), (
            f"docs/contracts.md's {name} section differs from shared.contracts: "
            "run `.venv/bin/python -m shared.contracts.markdown docs/contracts.md`"
        )


def test_the_doc_check_names_a_field_missing_from_the_doc_or_the_model() -> None:
    doc = CONTRACTS_DOC.read_text(encoding="utf-8")
    assert field_differences(doc) == {}
    renamed = doc.replace("| `hub_defaulted` |", "| `hub_was_defaulted` |", 1)
    assert field_differences(renamed) == {"referral.received": ({"hub_defaulted"}, {"hub_was_defaulted"})}


def test_the_fallback_need_codes_are_the_built_in_frameworks_codes() -> None:
    from outcomes.frameworks.service import builtin_frameworks, canonical

    frameworks = [ActiveFramework.model_validate(canonical(f)) for f in builtin_frameworks()]
    assert frozenset().union(*(f.need_codes() for f in frameworks)) == BUILT_IN_NEED_CODES


def test_every_event_source_follows_the_convention() -> None:
    assert source_of("cases") == "urn:earlyhelp:cases"
    assert {m.producer for m in EVENT_TYPES.values()} <= {"referrals", "cases", "intelligence"}
    with pytest.raises(ValueError, match="unknown service"):
        source_of("elsewhere")


def test_a_decision_is_read_under_either_name_with_the_same_value() -> None:
    """Producers send `decision` and the deprecated `outcome` with one value; a reader takes an event from before
    `decision` (only `outcome`) or after the old name goes (only `decision`) alike."""
    base = {"reason": "Agreed", "decided_by": "hm", "decided_at": "2026-11-23T10:15:02Z"}
    for given in ({"outcome": "accepted"}, {"decision": "accepted"}, {"decision": "accepted", "outcome": "accepted"}):
        data = parse_event(
            "referral.status_changed",
            {
                "referral_id": "a3c1e2d4-0000-4000-8000-000000000001",
                "external_reference": "MIS-1",
                "status": "accepted",
                "previous_status": "screening",
                "decision": {**given, **base},
                "family_id": None,
                "case_id": None,
                "changed_at": "2026-11-23T10:15:02Z",
            },
        ).data()
        assert data["decision"]["decision"] == data["decision"]["outcome"] == "accepted", given
    assert EVENT_TYPES["referral.decided"].model_json_schema()["properties"]["outcome"]["deprecated"] is True
