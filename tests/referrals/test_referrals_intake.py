"""Intake of maternity and school referrals: storage, representation, hub allocation, events and audit."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import platform
from shared.audit import verify_chain
from tests.referrals.conftest import (
    SCHOOL,
    create_maternity,
    create_school,
    partner,
    person,
    upn,
)


async def test_maternity_referral_is_stored_and_represented(client: httpx.AsyncClient) -> None:
    response = await create_maternity(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/referrals/{body['id']}"
    assert body["kind"] == "maternity"
    assert body["status"] == "received"
    assert body["agency"] == "MAT-LTH"
    assert body["hub"] == "north"
    assert body["hub_defaulted"] is False
    assert body["matching"] == "pending"  # cases is not running in this test
    assert body["breached"] is False
    assert body["decision"] is None
    assert [p["ref"] for p in body["people"]] == ["expectant_parent", "other_parent", "child_1"]
    assert [p["role"] for p in body["people"]] == ["parent_carer", "parent_carer", "child"]
    assert body["people"][0]["given_name"] == "Zoë"
    assert body["people"][0]["family_name"] == "O'Neill"
    assert body["people"][1]["family_name"] == "Nguyễn"
    assert body["details"]["vulnerabilities"] == ["perinatal_mental_health", "housing"]
    assert body["history"][0]["to_status"] == "received"

    fetched = await client.get(f"/v1/referrals/{body['id']}", headers=partner())
    assert fetched.status_code == 200
    assert fetched.json()["people"] == body["people"]
    assert fetched.json()["decision_due_at"] == body["decision_due_at"]


async def test_unicode_names_are_stored_exactly(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    names = [("Zoë", "O'Neill"), ("Thanh", "Nguyễn"), ("Siân", "Ó Súilleabháin-Wójcik")]
    response = await create_maternity(
        client,
        expectant_parent=person(*names[0], postcode="LS1 4AB"),
        other_parent=person(*names[1]),
        children=[],
    )
    assert response.status_code == 201, response.text
    referral_id = response.json()["id"]
    second = await create_maternity(client, expectant_parent=person(*names[2]), other_parent=None, children=[])
    assert second.status_code == 201
    async with referrals_sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT given_name, family_name FROM referral_people WHERE referral_id IN (:a, :b)"
                    " ORDER BY referral_id = :a DESC, position"
                ),
                {"a": uuid.UUID(referral_id), "b": uuid.UUID(second.json()["id"])},
            )
        ).all()
    assert [tuple(r) for r in rows] == names


async def test_school_referral_roles_and_south_hub(client: httpx.AsyncClient) -> None:
    response = await create_school(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "school"
    assert body["hub"] == "south"
    assert body["agency_type"] == "school"
    pupil = body["people"][0]
    assert pupil["ref"] == "pupil"
    assert pupil["role"] == "child"  # born March 2014: 12
    assert len(pupil["upn"]) == 13
    assert body["details"]["school_urn"] == "107950"
    assert body["details"]["attendance"]["current_term_percent"] == 78.5
    assert body["details"]["year_group"] == 6
    assert body["expected_delivery_date"] is None


async def test_teenage_pupil_is_a_young_person(client: httpx.AsyncClient) -> None:
    from datetime import date

    pupil = {**person("Ava", "Brown", date(2011, 1, 5), postcode="LS1 4AB"), "upn": upn(2), "year_group": 10}
    response = await create_school(client, pupil=pupil)
    assert response.status_code == 201, response.text
    assert response.json()["people"][0]["role"] == "young_person"
    assert response.json()["hub"] == "central"


async def test_unknown_postcode_goes_to_default_hub_and_is_flagged(client: httpx.AsyncClient) -> None:
    response = await create_maternity(client, expectant_parent=person(postcode="M1 1AE"))
    assert response.status_code == 201
    assert response.json()["hub"] == "central"
    assert response.json()["hub_defaulted"] is True
    missing = await create_maternity(client, expectant_parent=person())
    assert missing.json()["hub_defaulted"] is True


async def test_intake_writes_event_and_audit_in_the_same_transaction(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await create_maternity(client)
    referral_id = response.json()["id"]
    async with referrals_sessions() as session:
        events = (
            await session.execute(
                select(platform.outbox_events.c.type, platform.outbox_events.c.data).where(
                    platform.outbox_events.c.subject == referral_id
                )
            )
        ).all()
        audit = (
            await session.execute(
                select(platform.audit_log.c.action, platform.audit_log.c.actor).where(
                    platform.audit_log.c.record_id == referral_id
                )
            )
        ).all()
    assert [e.type for e in events] == ["referral.received"]
    assert events[0].data["hub"] == "north"
    assert "given_name" not in str(events[0].data)
    assert ("create", "sys-MAT-LTH@MAT-LTH") in [tuple(a) for a in audit]


async def test_intake_statement_queues_deliveries_to_internal_subscribers_only_and_keeps_the_audit_chain(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    subs = platform.event_subscriptions
    wanted, other_type, partner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with referrals_sessions() as session, session.begin():
        await session.execute(
            subs.insert(),
            [
                {"id": wanted, "name": f"t-{wanted}", "url": "http://127.0.0.1:9/a", "secret": "s",
                 "event_types": ["referral.received", "referral.accepted"], "owner_agency": None},
                {"id": other_type, "name": f"t-{other_type}", "url": "http://127.0.0.1:9/b", "secret": "s",
                 "event_types": ["referral.accepted"], "owner_agency": None},
                {"id": partner, "name": None, "url": "http://127.0.0.1:9/c", "secret": "s", "owner_agency": "MAT-LTH",
                 "event_types": ["referral.received"]},
            ],
        )  # fmt: skip
    first, second = await create_maternity(client), await create_maternity(client)
    assert first.status_code == second.status_code == 201
    events, deliveries = platform.outbox_events, platform.outbox_deliveries
    async with referrals_sessions() as session:
        rows = (
            await session.execute(
                select(events.c.subject, deliveries.c.subscription_id, deliveries.c.subject, deliveries.c.status)
                .join(deliveries, deliveries.c.event_id == events.c.id)
                .where(events.c.subject.in_([first.json()["id"], second.json()["id"]]))
                .order_by(deliveries.c.id)
            )
        ).all()
        chain = await verify_chain(session)
    assert [tuple(r) for r in rows] == [
        (first.json()["id"], wanted, first.json()["id"], "pending"),
        (second.json()["id"], wanted, second.json()["id"], "pending"),
    ]
    assert chain.ok, chain


async def test_duplicate_external_reference_is_409_naming_the_existing_referral(client: httpx.AsyncClient) -> None:
    first = await create_maternity(client, external_reference="MAT-DUP-1")
    assert first.status_code == 201
    again = await create_maternity(client, external_reference="MAT-DUP-1")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["existing_referral_id"] == first.json()["id"]
    assert first.json()["id"] in again.json()["detail"]
    # another agency may use the same reference
    other = await create_maternity(client, headers=partner("MAT-OTHER"), external_reference="MAT-DUP-1")
    assert other.status_code == 201


async def test_practitioner_may_refer_without_key_partner_may_not(client: httpx.AsyncClient) -> None:
    from tests.support import auth, make_token

    missing = await create_maternity(client, key=None)
    assert missing.status_code == 400
    assert "Idempotency-Key" in missing.json()["detail"]
    practitioner = auth(make_token("practitioner", agency="LCC", agency_type="council"))
    made = await create_maternity(client, headers=practitioner, key=None)
    assert made.status_code == 201
    analyst = auth(make_token("analyst", agency="LCC"))
    assert (await create_maternity(client, headers=analyst)).status_code == 403
    assert (await client.post("/v1/referrals/maternity", json={})).status_code == 401


async def test_school_partner_posts_school_referral(client: httpx.AsyncClient) -> None:
    response = await create_school(client, headers=partner(**SCHOOL))
    assert response.status_code == 201
    assert response.json()["agency"] == "SCH-LS-001"


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/referrals/maternity",
        "/v1/referrals/school",
        "/v1/referrals",
        "/v1/referrals/{referral_id}",
        "/v1/referrals/{referral_id}/decision",
        "/v1/referrals/{referral_id}/withdraw",
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}/deliveries",
        "/fhir",
        "/fhir/$process-message",
        "/fhir/Task",
        "/fhir/metadata",
    ):
        assert path in paths, path
    create = paths["/v1/referrals/maternity"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert {"201", "409", "422"} <= set(create["responses"])
