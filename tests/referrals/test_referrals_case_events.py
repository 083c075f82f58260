"""Consuming case.opened / case.joined from cases: the referral records its family and case, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from shared.events import CloudEvent, sign_headers
from shared.settings import DEV_EVENT_SECRET
from tests.referrals.conftest import create_maternity, partner


def _signed(event_type: str, data: dict[str, object], secret: str = DEV_EVENT_SECRET) -> tuple[str, dict[str, str]]:
    event = CloudEvent(
        id=str(uuid.uuid4()), source="urn:earlyhelp:cases", type=event_type, time=datetime.now(UTC), data=data
    )
    body = event.model_dump_json()
    return body, {"content-type": "application/cloudevents+json", **sign_headers(secret, event.id, body)}


async def test_case_opened_links_family_and_case_once(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    family_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    data = {"case_id": case_id, "family_id": family_id, "hub": "north", "referral_id": rid, "opened_at": "2026-01-01"}
    body, headers = _signed("case.opened", data)
    first = await client.post("/v1/events", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "processed"
    again = await client.post("/v1/events", content=body, headers=headers)
    assert again.json()["status"] == "duplicate"
    referral = (await client.get(f"/v1/referrals/{rid}", headers=partner())).json()
    assert (referral["family_id"], referral["case_id"]) == (family_id, case_id)
    by_family = (await client.get("/v1/referrals", params={"family_ids": family_id}, headers=partner())).json()
    assert [r["id"] for r in by_family["items"]] == [rid]


async def test_case_joined_and_bad_events(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    family_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    body, headers = _signed("case.joined", {"case_id": case_id, "family_id": family_id, "referral_id": rid})
    assert (await client.post("/v1/events", content=body, headers=headers)).status_code == 200
    assert (await client.get(f"/v1/referrals/{rid}", headers=partner())).json()["case_id"] == case_id
    no_referral, headers = _signed("case.opened", {"case_id": case_id, "family_id": family_id, "referral_id": None})
    assert (await client.post("/v1/events", content=no_referral, headers=headers)).status_code == 200
    forged, headers = _signed("case.opened", {"referral_id": rid}, secret="whsec_" + "QUJD" * 8)
    assert (await client.post("/v1/events", content=forged, headers=headers)).status_code == 401
    broken, headers = _signed("case.opened", {"referral_id": rid, "family_id": "nope", "case_id": case_id})
    response = await client.post("/v1/events", content=broken, headers=headers)
    assert response.status_code == 400
