"""Partner webhooks: registration, isolation between agencies, and signed deliveries a receiver verifies."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from referrals.models import platform
from referrals.webhooks import delivery as webhooks
from referrals.webhooks.delivery import check_resolves, check_url
from referrals.webhooks.repository import WebhookRepository
from referrals.webhooks.schemas import WebhookCreate
from referrals.webhooks.service import WebhooksService
from shared.auth import Principal
from shared.errors import UnprocessableContent
from shared.events import OutboxRelay
from shared.settings import Environment
from tests.referrals.conftest import MatchNow, create_maternity, hub_manager, partner
from tests.support import free_port, serve_asgi


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
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession], match_now: MatchNow
) -> None:
    receiver = _Receiver()
    async with serve_asgi(receiver.app) as base:
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
        await match_now()
        decided = await client.post(
            f"/v1/referrals/{mine['id']}/decision",
            headers=hub_manager("north"),
            json={"outcome": "accepted", "reason": "Family agreed"},
        )
        assert decided.status_code == 200

        # the relay's delivery client, as in test settings: local receivers are let through (like check_url)
        delivery = webhooks.delivery_client(Environment.test)
        relay = OutboxRelay(_Db(referrals_sessions), platform, timeout=5, client=delivery)  # type: ignore[arg-type]
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


# --- delivery: the host is checked again and the connection pinned (finding F4, DNS rebinding) ---------------


class _Resolver:
    """Stands in for `referrals.webhooks.delivery.resolve` (the one resolution both checks use): answers per call."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class _Listener:
    """A bare TCP port on loopback that counts connections (a rebinding target: nothing may reach it)."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


PARTNER = Principal(sub="sys-MAT-LTH", roles=frozenset({"partner_system"}), agency="MAT-LTH", agency_type="maternity")


async def _accepted_referral(client: httpx.AsyncClient, match_now: MatchNow) -> None:
    mine = (await create_maternity(client)).json()
    await match_now()
    decided = await client.post(
        f"/v1/referrals/{mine['id']}/decision",
        headers=hub_manager("north"),
        json={"outcome": "accepted", "reason": "Family agreed"},
    )
    assert decided.status_code == 200, decided.text


async def test_delivery_refuses_a_host_that_now_resolves_inside_the_network(
    client: httpx.AsyncClient,
    referrals_sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    match_now: MatchNow,
) -> None:
    """DNS rebinding: public at registration, loopback at delivery → no request, a failed attempt logged."""
    resolver = _Resolver(["93.184.215.14"], ["127.0.0.1"])
    monkeypatch.setattr(webhooks, "resolve", resolver)
    listener = _Listener()
    async with listener as port:
        url = f"https://partner.example:{port}/hook"
        async with referrals_sessions() as session:  # registered as in production: https, resolved, public
            created = await WebhooksService(WebhookRepository(session), Environment.production).create(
                PARTNER, WebhookCreate(url=url)
            )
            await session.commit()
        assert resolver.calls == ["partner.example"]
        await _accepted_referral(client, match_now)

        relay = OutboxRelay(
            _Db(referrals_sessions),  # type: ignore[arg-type]
            platform,
            client=webhooks.delivery_client(Environment.production),
        )
        try:
            assert await relay.run_once() == 1
        finally:
            await relay._get_client().aclose()
        assert resolver.calls == ["partner.example", "partner.example"]  # resolved again at delivery
        assert listener.connections == 0  # nothing reached the address it resolved to

    deliveries = await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=partner())
    [item] = deliveries.json()["items"]
    assert item["status"] == "pending" and item["attempts"] == 1  # retried later, dead-lettered in the end
    assert item["last_status_code"] is None
    [attempt] = item["attempt_log"]
    assert attempt["status_code"] is None
    assert attempt["error"] == (
        "RefusedDestination: not sent: the webhook host does not resolve to a public address "
        "(checked at every delivery)"
    )
    assert "127.0.0.1" not in attempt["error"]  # a fixed reason: not what the resolver answered


async def test_delivery_connects_to_the_address_it_checked(
    client: httpx.AsyncClient,
    referrals_sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    match_now: MatchNow,
) -> None:
    """Resolved once per delivery, connected to that address with the original Host: a second answer is unused.

    `partner.example` has no real DNS answer, so only the pinned address can reach the receiver; loopback stands in
    for a public address (the policy is a parameter: a test cannot route to the internet).
    """
    resolver = _Resolver(["127.0.0.1"], ["192.0.2.1"])
    monkeypatch.setattr(webhooks, "resolve", resolver)
    receiver = _Receiver()
    seen_hosts: list[str] = []

    @receiver.app.middleware("http")
    async def record_host(request: Request, call_next: Any) -> Any:
        seen_hosts.append(request.headers["host"])
        return await call_next(request)

    async with serve_asgi(receiver.app) as base:
        port = httpx.URL(base).port
        created = await client.post(
            "/v1/webhooks", json={"url": f"http://partner.example:{port}/hook"}, headers=partner()
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        await _accepted_referral(client, match_now)
        delivery = webhooks.delivery_client(Environment.production, permitted=lambda a: a.is_loopback)
        relay = OutboxRelay(_Db(referrals_sessions), platform, client=delivery)  # type: ignore[arg-type]
        try:
            assert await relay.run_once() == 1
        finally:
            await delivery.aclose()
    assert resolver.calls == ["partner.example"]
    assert seen_hosts == [f"partner.example:{port}"]
    assert len(receiver.verified) == 1 and receiver.rejected == 0
    items = (await client.get(f"/v1/webhooks/{created.json()['id']}/deliveries", headers=partner())).json()["items"]
    assert [(d["status"], d["last_status_code"]) for d in items] == [("delivered", 200)]


async def test_pinned_https_keeps_the_server_name_for_sni_and_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the checked IP, but TLS is negotiated and verified for the webhook's host name."""
    cert, key = _self_signed("partner.example", tmp_path)
    monkeypatch.setattr(webhooks, "resolve", _Resolver(["127.0.0.1"]))
    app = FastAPI()
    server_names: list[str] = []

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        server_names.append(request.headers["host"])
        return {"status": "ok"}

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ssl_certfile=cert, ssl_keyfile=key
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(300):
            if server.started:
                break
            await asyncio.sleep(0.01)
        trust = ssl.create_default_context(cafile=str(cert))
        inner = httpx.AsyncHTTPTransport(verify=trust)
        async with webhooks.delivery_client(
            Environment.production, permitted=lambda a: a.is_loopback, inner=inner
        ) as pinned:
            response = await pinned.post(f"https://partner.example:{port}/hook", json={})
        assert response.status_code == 200
        assert server_names == [f"partner.example:{port}"]
        # the same server under another name fails the certificate check: the name really is verified
        monkeypatch.setattr(webhooks, "resolve", _Resolver(["127.0.0.1"]))
        inner = httpx.AsyncHTTPTransport(verify=trust)
        async with webhooks.delivery_client(
            Environment.production, permitted=lambda a: a.is_loopback, inner=inner
        ) as pinned:
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
                await pinned.post(f"https://other.example:{port}/hook", json={})
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_configured_subscribers_are_exempt_and_literal_private_addresses_refused() -> None:
    """Internal subscribers come from configuration (inside the cluster by design); any other URL is checked."""
    receiver = FastAPI()

    @receiver.post("/v1/events")
    async def events() -> dict[str, str]:
        return {"status": "ok"}

    async with serve_asgi(receiver) as base:
        guarded = webhooks.delivery_client(Environment.production, trusted_urls=[f"{base}/v1/events"])
        async with guarded:
            assert (await guarded.post(f"{base}/v1/events", json={})).status_code == 200
            with pytest.raises(webhooks.RefusedDestination, match=r"127\.0\.0\.1, not a public address"):
                await guarded.post(f"{base}/v1/admin/outbox/replay", json={})
        relaxed = webhooks.delivery_client(Environment.test)  # development and test: local receivers, as check_url
        async with relaxed:
            assert (await relaxed.post(f"{base}/v1/events", json={})).status_code == 200


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # shared address space (CGNAT)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ],
)
def test_only_public_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert webhooks.is_public(ipaddress.ip_address(address)) is public


def _self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_the_services_relay_delivers_through_the_guard(referrals_db: str) -> None:
    """The running service's outbox relay uses `DeliveryGuard` (not a plain client), and closes it at shutdown."""
    from referrals.app import create_app
    from referrals.config import Settings
    from tests.support import app_client

    async with app_client(create_app, Settings, referrals_db, relay_enabled=True) as client:
        relay: OutboxRelay = client.app.state.relay  # type: ignore[attr-defined]
        delivery = relay._client
        assert delivery is not None and isinstance(delivery._transport, webhooks.DeliveryGuard)
    assert delivery.is_closed
