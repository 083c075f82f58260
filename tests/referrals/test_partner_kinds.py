"""Issue 22: a partner system may submit only the referral kinds its agency type allows; any partner agency (police
— with Operation Encompass notifications —, health, housing, probation, the voluntary sector) refers a family with
the same validation, idempotency, lawful basis, hub allocation, triage and webhooks as schools and maternity."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.access import KINDS_BY_AGENCY_TYPE
from referrals.models import platform
from referrals.webhooks import delivery as webhooks
from shared.auth import AGENCY_TYPES
from shared.events import OutboxRelay
from shared.settings import Environment
from tests.referrals.conftest import (
    POLICE,
    SCHOOL,
    MatchNow,
    create_maternity,
    create_partner,
    create_school,
    hub_manager,
    partner,
    person,
)
from tests.referrals.test_referrals_webhooks import _Db, _Receiver
from tests.support import auth, make_token, serve_asgi
from tests.support.factories import operation_encompass, partner_payload


async def test_a_partner_submits_only_its_agency_types_kinds(client: httpx.AsyncClient) -> None:
    maternity, school, police = partner(), partner(**SCHOOL), partner(**POLICE)
    crossed = await create_school(client, headers=maternity)
    assert crossed.status_code == 403, crossed.text
    assert crossed.headers["content-type"] == "application/problem+json"
    assert "maternity agency's system may submit maternity referrals, not a school" in crossed.json()["detail"]
    assert (await create_maternity(client, headers=school)).status_code == 403
    by_police = await create_school(client, headers=police)
    assert by_police.status_code == 403
    assert "may submit partner or operation_encompass referrals, not a school" in by_police.json()["detail"]
    assert (await create_maternity(client, headers=police)).status_code == 403
    # a maternity service's or a school's token cannot use the partner form either
    assert (await create_partner(client, headers=maternity)).status_code == 403
    assert (await create_partner(client, headers=school)).status_code == 403

    assert (await create_maternity(client, headers=maternity)).status_code == 201
    assert (await create_school(client, headers=school)).status_code == 201
    practitioner = auth(make_token("practitioner", agency="LCC", agency_type="council"))
    assert (await create_school(client, headers=practitioner)).status_code == 201
    assert (await create_partner(client, headers=practitioner)).status_code == 201


@pytest.mark.parametrize("agency_type", ["police", "health", "housing", "probation", "vcs"])
async def test_every_partner_agency_type_refers_a_family(client: httpx.AsyncClient, agency_type: str) -> None:
    headers = partner(agency=f"{agency_type.upper()}-1", agency_type=agency_type)
    created = await create_partner(client, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "partner" and body["agency_type"] == agency_type
    assert body["hub"] == "north" and body["hub_defaulted"] is False  # LS8, the first person's postcode
    assert [(p["ref"], p["role"]) for p in body["people"]] == [("parent_carer_1", "parent_carer"), ("child_2", "child")]
    assert body["people"][1]["upn"] is not None
    assert body["details"] == {"service": "Safeguarding hub"}
    assert body["lawful_basis"] == "consent"


def test_the_table_covers_every_agency_type_but_the_council() -> None:
    assert set(KINDS_BY_AGENCY_TYPE) == set(AGENCY_TYPES) - {"council"}
    assert [t for t, kinds in KINDS_BY_AGENCY_TYPE.items() if "operation_encompass" in kinds] == ["police"]


async def test_operation_encompass_is_a_police_notification_about_a_child(client: httpx.AsyncClient) -> None:
    notified = await create_partner(client, operation_encompass=operation_encompass(), safeguarding_concern=True)
    assert notified.status_code == 201, notified.text
    body = notified.json()
    assert body["kind"] == "operation_encompass" and body["safeguarding_concern"] is True
    assert body["details"]["operation_encompass"]["police_reference"] == "WYP-13-2026-0456"
    assert body["details"]["operation_encompass"]["school_urns"] == ["107950"]

    health = partner(agency="HV-LEEDS", agency_type="health")
    refused = await create_partner(client, headers=health, operation_encompass=operation_encompass())
    assert refused.status_code == 403, refused.text
    assert "health agency's system may submit partner referrals, not an operation_encompass" in refused.json()["detail"]

    adults_only = [{**person(postcode="LS8 2QD"), "role": "parent_carer"}]
    no_child = await create_partner(client, people=adults_only, operation_encompass=operation_encompass())
    assert no_child.status_code == 422
    assert [e["pointer"] for e in no_child.json()["errors"]] == ["/operation_encompass"]
    in_future = await create_partner(
        client, operation_encompass=operation_encompass(incident_at="2999-01-01T00:00:00Z")
    )
    assert in_future.status_code == 422
    assert [e["pointer"] for e in in_future.json()["errors"]] == ["/operation_encompass/incident_at"]


async def test_partner_referrals_are_validated_as_every_referral(client: httpx.AsyncClient) -> None:
    no_people = await create_partner(client, people=[])
    assert no_people.status_code == 422 and no_people.json()["errors"][0]["pointer"] == "/people"
    bad_role = await create_partner(client, people=[{**person(), "role": "cousin"}])
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["pointer"] == "/people/0/role"
    unknown_need = await create_partner(client, needs=["not_a_need"])
    assert unknown_need.status_code == 422 and unknown_need.json()["errors"][0]["pointer"] == "/needs/0"
    basis = await create_partner(client, lawful_basis="vital_interests")
    assert basis.status_code == 422
    assert {e["pointer"] for e in basis.json()["errors"]} == {"/lawful_basis", "/safeguarding_concern"}
    without_key = await create_partner(client, key=None)
    assert without_key.status_code == 400


async def test_partner_referrals_replay_under_their_key_and_refuse_a_second_reference(
    client: httpx.AsyncClient,
) -> None:
    headers = {**partner(**POLICE), "Idempotency-Key": uuid.uuid4().hex}
    body = partner_payload()
    first = await client.post("/v1/referrals/partner", json=body, headers=headers)
    again = await client.post("/v1/referrals/partner", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]
    changed = await client.post("/v1/referrals/partner", json={**body, "reason": "other"}, headers=headers)
    assert changed.status_code == 422
    twice = await create_partner(client, external_reference=body["external_reference"])
    assert twice.status_code == 409 and first.json()["id"] in twice.json()["detail"]


async def test_a_partner_referral_is_triaged_and_its_agency_called_back(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession], match_now: MatchNow
) -> None:
    receiver = _Receiver()
    async with serve_asgi(receiver.app) as base:
        created = await client.post("/v1/webhooks", json={"url": f"{base}/hook"}, headers=partner(**POLICE))
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        referral = (await create_partner(client, operation_encompass=operation_encompass())).json()
        assert await match_now() == 1
        queue = await client.get("/v1/referrals", params={"hub": "north"}, headers=hub_manager("north"))
        assert referral["id"] in {r["id"] for r in queue.json()["items"]}
        decided = await client.post(
            f"/v1/referrals/{referral['id']}/decision",
            headers=hub_manager("north"),
            json={"outcome": "accepted", "reason": "Mother agreed to family support"},
        )
        assert decided.status_code == 200, decided.text
        async with referrals_sessions() as session:
            received = await session.scalar(
                select(platform.outbox_events.c.data).where(
                    platform.outbox_events.c.type == "referral.received",
                    platform.outbox_events.c.subject == referral["id"],
                )
            )
        assert received is not None and received["kind"] == "operation_encompass"
        relay = OutboxRelay(
            _Db(referrals_sessions), platform, timeout=5, client=webhooks.delivery_client(Environment.test)
        )  # type: ignore[arg-type]
        try:
            await relay.run_once()
        finally:
            if relay._client is not None:
                await relay._client.aclose()
    assert [(e["data"]["referral_id"], e["data"]["status"]) for e in receiver.verified] == [
        (referral["id"], "accepted")
    ]


def test_the_partner_guide_prints_the_table() -> None:
    """docs/guides/partner-integration.md shows KINDS_BY_AGENCY_TYPE: a change to one is a change to the other."""
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs/guides/partner-integration.md").read_text()
    rows = [line.split("|")[1:3] for line in guide.splitlines() if line.startswith("| `")]
    table = {t.strip().strip("`"): tuple(k.strip().strip("`") for k in kinds.split(",")) for t, kinds in rows}
    assert table == dict(KINDS_BY_AGENCY_TYPE)


async def test_submit_partner_referral_through_the_gateway(client: httpx.AsyncClient) -> None:
    """`submitPartnerReferral` reaches the same intake: a police notification comes back as OPERATION_ENCOMPASS; a
    health visitor's system sending one is the service's 403 (FORBIDDEN), naming the kinds it may submit."""
    from tests.gateway.conftest import gateway_client, gql
    from tests.security.test_gateway_authz import partner_input

    mutation = """mutation($input: PartnerReferralInput!, $key: String!) {
      submitPartnerReferral(input: $input, idempotencyKey: $key) {
        referral { id kind hub } userErrors { field code }
      }
    }"""
    police = make_token("partner_system", sub="police-1", agency="WYP", agency_type="police")
    health = make_token("partner_system", sub="hv-1", agency="HV-LEEDS", agency_type="health")
    body = partner_input(partner_payload(operation_encompass=operation_encompass()))
    async with (
        serve_asgi(client.app) as referrals_url,  # type: ignore[attr-defined]
        gateway_client(referrals_url=referrals_url) as gateway,
    ):
        sent = await gql(gateway, mutation, {"input": body, "key": uuid.uuid4().hex}, token=police)
        refused = await gql(gateway, mutation, {"input": body, "key": uuid.uuid4().hex}, token=health)
    assert "errors" not in sent, sent
    payload = sent["data"]["submitPartnerReferral"]
    assert payload["userErrors"] == [] and payload["referral"]["kind"] == "OPERATION_ENCOMPASS"
    assert payload["referral"]["hub"] == "north"
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"], refused
    assert "may submit partner referrals" in refused["errors"][0]["message"]
