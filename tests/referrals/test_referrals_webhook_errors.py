"""What the delivery log keeps of a failed partner webhook (issue 19): the status and a short, fixed reason —
never the receiver's response body, so that a webhook pointed at a loopback or link-local address in development
(or anything a partner's endpoint says) cannot be read back through `GET /v1/webhooks/{id}/deliveries`."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import platform
from referrals.webhooks import delivery as webhooks
from shared.events import OutboxRelay
from shared.settings import Environment
from tests.referrals.conftest import create_maternity, hub_manager, partner
from tests.support import free_port, serve_asgi

BODY = "root:x:0:0 internal-admin-token=tok_5f3a9 <html>intranet</html>"


class _Db:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.url = ""


async def _deliver_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    relay = OutboxRelay(_Db(sessions), platform, timeout=5, client=webhooks.delivery_client(Environment.test))  # type: ignore[arg-type]
    try:
        assert await relay.run_once() == 1
    finally:
        await relay._get_client().aclose()


async def _status_change(client: httpx.AsyncClient) -> None:
    mine = (await create_maternity(client)).json()
    decided = await client.post(
        f"/v1/referrals/{mine['id']}/decision",
        headers=hub_manager("north"),
        json={"outcome": "signposted", "reason": "x"},
    )
    assert decided.status_code == 200, decided.text


async def test_a_failed_delivery_shows_its_status_not_the_receivers_body(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    inside = FastAPI()

    @inside.post("/hook")
    async def hook() -> PlainTextResponse:
        return PlainTextResponse(BODY, status_code=500)

    async with serve_asgi(inside) as base:  # loopback: accepted in development and test
        created = await client.post("/v1/webhooks", json={"url": f"{base}/hook"}, headers=partner())
        assert created.status_code == 201, created.text
        await _status_change(client)
        await _deliver_once(referrals_sessions)

    deliveries = await client.get(f"/v1/webhooks/{created.json()['id']}/deliveries", headers=partner())
    assert deliveries.status_code == 200
    assert "tok_5f3a9" not in deliveries.text and "intranet" not in deliveries.text
    [item] = deliveries.json()["items"]
    assert (item["last_status_code"], item["last_error"]) == (500, "HTTP 500 Internal Server Error")
    assert [a["error"] for a in item["attempt_log"]] == ["HTTP 500 Internal Server Error"]


async def test_a_delivery_that_gets_no_answer_has_a_fixed_reason(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens
    created = await client.post("/v1/webhooks", json={"url": url}, headers=partner())
    assert created.status_code == 201, created.text
    await _status_change(client)
    await _deliver_once(referrals_sessions)
    [item] = (await client.get(f"/v1/webhooks/{created.json()['id']}/deliveries", headers=partner())).json()["items"]
    assert (item["last_status_code"], item["last_error"]) == (None, "ConnectError: could not connect")
