"""The refer decision reaches referrals: the intelligence service's outbox event, delivered to the referrals
service's event endpoint as the relay delivers it, becomes a referral of kind `intelligence` in the north
triage queue — once, however often it is delivered — and is accepted like any referral once consent is given."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intelligence.models import platform
from shared.events import CloudEvent, sign_headers
from shared.settings import DEV_EVENT_SECRET
from tests.intelligence.conftest import import_examples, run_linkage
from tests.support import auth, make_token
from tests.support.matching import match_in_process

NORTH = auth(make_token("hub_manager", sub="north-manager", agency="LCC", agency_type="council", hubs=["north"]))


async def _referred_event(client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> Any:
    await import_examples(client)
    await run_linkage(client)
    [family] = (await client.get("/v1/identified-families", headers=NORTH)).json()["items"]
    decision = {"decision": "refer", "reason": "Five needs; school worried too"}
    path = f"/v1/identified-families/{family['id']}/decision"
    assert (await client.post(path, json=decision, headers=NORTH)).status_code == 200
    async with sessions() as session:
        [event] = (await session.execute(select(platform.outbox_events))).all()
    return event


def _delivery(row: Any) -> tuple[str, dict[str, str]]:
    """The CloudEvent the outbox relay sends for an outbox row, signed with the event secret."""
    event = CloudEvent(id=str(row.id), source=row.source, type=row.type, subject=row.subject,
                       time=datetime.now(UTC), data=row.data)  # fmt: skip
    body = event.model_dump_json()
    return body, {"content-type": "application/cloudevents+json", **sign_headers(DEV_EVENT_SECRET, event.id, body)}


async def test_a_referred_family_arrives_in_the_north_triage_queue_once(
    intelligence_api: httpx.AsyncClient,
    intelligence_sessions: async_sessionmaker[AsyncSession],
    referrals_client: httpx.AsyncClient,
    referrals_sessions: async_sessionmaker[AsyncSession],
    cases_client: httpx.AsyncClient,
) -> None:
    row = await _referred_event(intelligence_api, intelligence_sessions)
    assert row.type == "intelligence.family_referred"
    body, headers = _delivery(row)
    first = await referrals_client.post("/v1/events", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await referrals_client.post("/v1/events", content=body, headers=headers)
    assert again.json()["status"] == "duplicate"

    queue = await referrals_client.get("/v1/referrals", params={"hub": "north", "kind": "intelligence"}, headers=NORTH)
    assert queue.status_code == 200, queue.text
    [referral] = queue.json()["items"]
    assert (referral["kind"], referral["status"], referral["hub"]) == ("intelligence", "received", "north")
    detail = (await referrals_client.get(f"/v1/referrals/{referral['id']}", headers=NORTH)).json()
    assert detail["needs"] == ["education", "health", "domestic_abuse", "housing", "financial_stability"]
    assert "school worried too" in detail["reason"]
    assert detail["details"]["identified_family_id"] == row.subject
    names = {(p["given_name"].lower(), p["role"]) for p in detail["people"]}
    assert {("grace", "parent_carer"), ("daniel", "child"), ("ruth", "child")} <= names

    # accepted like any referral: its people matched against the person index, consent first (the family is
    # contacted after the decision to refer)
    rid = referral["id"]
    assert await match_in_process(referrals_client, cases_client) == 1
    refused = await referrals_client.post(f"/v1/referrals/{rid}/decision", json={"outcome": "accepted"}, headers=NORTH)
    assert refused.status_code in (409, 422), refused.text
    consent = {"given": True, "given_by": "Grace Okafor", "recorded_at": "2026-12-02T10:00:00Z", "method": "verbal"}
    assert (await referrals_client.put(f"/v1/referrals/{rid}/consent", json=consent, headers=NORTH)).status_code == 200
    accepted = await referrals_client.post(
        f"/v1/referrals/{rid}/decision", json={"outcome": "accepted", "reason": "Whole-family support"}, headers=NORTH
    )
    assert accepted.status_code == 200, accepted.text
    async with referrals_sessions() as session:
        events = (await session.execute(text("SELECT type, data FROM outbox_events ORDER BY time"))).all()
    kinds = [(t, d.get("kind")) for t, d in events]
    assert ("referral.received", "intelligence") in kinds and ("referral.accepted", "intelligence") in kinds


async def test_an_event_that_does_not_fit_the_contract_is_refused(referrals_client: httpx.AsyncClient) -> None:
    event = CloudEvent(id="x-1", source="urn:earlyhelp:intelligence", type="intelligence.family_referred",
                       time=datetime.now(UTC), data={"hub": "north"})  # fmt: skip
    body = event.model_dump_json()
    headers = {"content-type": "application/cloudevents+json", **sign_headers(DEV_EVENT_SECRET, event.id, body)}
    response = await referrals_client.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 422
