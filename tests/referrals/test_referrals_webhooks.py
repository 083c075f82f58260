"""Partner webhooks: registration, isolation between agencies, and signed deliveries a receiver verifies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from referrals.models import platform
from referrals.webhooks import check_resolves, check_url
from shared.errors import UnprocessableContent
from shared.events import OutboxRelay
from shared.settings import Environment
from tests.referrals.conftest import create_maternity, hub_manager, partner, serve


class _Receiver:
    """A partner's endpoint: verifies each delivery with the standardwebhooks library."""

    def __init__(self) -> None:
        self.secret = ""
        self.verified: list[dict[str, Any]] = []
        self.rejected = 0
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> dict[str, str]:
            body = await request.body()
            try:
                payload = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.rejected += 1
                return {"status": "rejected"}
            self.verified.append(payload)
            return {"status": "ok"}


class _Db:
    """What the relay needs of a Database: a sessionmaker (here the test's rolled-back one)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.url = ""


async def test_status_changes_reach_only_the_referring_partner_signed(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    receiver = _Receiver()
    async with serve(receiver.app) as base:
        created = await client.post("/v1/webhooks", json={"url": f"{base}/hook"}, headers=partner())
        assert created.status_code == 201, created.text
        webhook = created.json()
        assert webhook["secret"].startswith("whsec_")
        assert webhook["event_types"] == ["referral.status_changed"]
        receiver.secret = webhook["secret"]
        other = await client.post("/v1/webhooks", json={"url": f"{base}/other"}, headers=partner("MAT-OTHER"))
        assert other.status_code == 201

        mine = (await create_maternity(client)).json()
        await create_maternity(client, headers=partner("MAT-OTHER"))
        decided = await client.post(
            f"/v1/referrals/{mine['id']}/decision",
            headers=hub_manager("north"),
            json={"outcome": "accepted", "reason": "Family agreed"},
        )
        assert decided.status_code == 200

        relay = OutboxRelay(_Db(referrals_sessions), platform, timeout=5)  # type: ignore[arg-type]
        try:
            attempted = await relay.run_once()
        finally:
            if relay._client is not None:
                await relay._client.aclose()
    assert attempted == 1  # one status change, to MAT-LTH's webhook only
    assert receiver.rejected == 0
    assert len(receiver.verified) == 1
    event = receiver.verified[0]
    assert event["type"] == "referral.status_changed"
    assert event["data"]["referral_id"] == mine["id"]
    assert event["data"]["status"] == "accepted"
    assert event["data"]["previous_status"] == "received"
    assert event["data"]["external_reference"] == mine["external_reference"]

    deliveries = await client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=partner())
    assert deliveries.status_code == 200
    items = deliveries.json()["items"]
    assert [(d["status"], d["event_type"], d["last_status_code"]) for d in items] == [
        ("delivered", "referral.status_changed", 200)
    ]
    assert len(items[0]["attempt_log"]) == 1
    other_deliveries = await client.get(f"/v1/webhooks/{other.json()['id']}/deliveries", headers=partner("MAT-OTHER"))
    assert other_deliveries.json()["items"] == []


async def test_webhooks_belong_to_their_agency_and_secret_is_shown_once(client: httpx.AsyncClient) -> None:
    created = (
        await client.post("/v1/webhooks", json={"url": "https://partner.example/hook"}, headers=partner())
    ).json()
    listed = (await client.get("/v1/webhooks", headers=partner())).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert (await client.get("/v1/webhooks", headers=partner("MAT-OTHER"))).json()["items"] == []
    wid = created["id"]
    assert (await client.get(f"/v1/webhooks/{wid}/deliveries", headers=partner("MAT-OTHER"))).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{wid}", headers=partner("MAT-OTHER"))).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{wid}", headers=partner())).status_code == 204
    assert (await client.get("/v1/webhooks", headers=partner())).json()["items"] == []
    assert (await client.delete(f"/v1/webhooks/{wid}", headers=partner())).status_code == 404
    assert (await client.post("/v1/webhooks", json={"url": "x"}, headers=hub_manager())).status_code == 403
    bad_type = await client.post(
        "/v1/webhooks", json={"url": "https://p.example/h", "event_types": ["referral.accepted"]}, headers=partner()
    )
    assert bad_type.status_code == 422


@pytest.mark.parametrize(
    "url", ["http://partner.example/hook", "https://127.0.0.1/hook", "https://10.1.2.3/h", "https://localhost/h"]
)
def test_production_accepts_only_public_https(url: str) -> None:
    with pytest.raises(UnprocessableContent):
        check_url(url, Environment.production)
    assert check_url("https://partner.example/hook", Environment.production) == "https://partner.example/hook"
    assert check_url(url.replace("https", "http"), Environment.development)


async def test_malformed_webhook_url_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/webhooks", json={"url": "ftp://partner.example/x"}, headers=partner())
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/url"


@pytest.mark.parametrize("url", ["https://2130706433/hook", "https://127.1/hook", "https://no-such-host.invalid/h"])
async def test_host_names_resolving_inside_the_network_are_refused(url: str) -> None:
    """The literal check lets these through; resolving them shows loopback (or nothing) — finding F4."""
    assert check_url(url, Environment.production)
    with pytest.raises(UnprocessableContent):
        await check_resolves(url)
