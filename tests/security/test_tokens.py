"""Each service rejects forged and misdirected tokens at a real endpoint (shared/auth.py verifies; here we
prove every service wires the verifier in), and picks up a rotated key from its JWKS without a restart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ensure_dev_key, mint_token, public_jwk
from shared.settings import DEV_AUDIENCE, DEV_ISSUER
from tests.support import TEST_KEY_PATH, app_client, auth

ENDPOINTS = {"referrals": "/v1/referrals", "cases": "/v1/families", "outcomes": "/v1/frameworks"}
ROLE = {"referrals": "hub_manager", "cases": "hub_manager", "outcomes": "analyst"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(role: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "attacker", "iat": now, "nbf": now, "exp": now + 600,
              "roles": [role], "hubs": ["north"], "agency": "LCC", "agency_type": "council"}  # fmt: skip
    claims.update(changes)
    return claims


def _unsigned(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    return f"{signing_input.decode()}.{_b64(sign(signing_input))}"


def _signed(claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None, kid: str | None = None) -> str:
    import jwt

    key = key or ensure_dev_key(TEST_KEY_PATH)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or public_jwk(key)["kid"]})


def forged_tokens(role: str) -> dict[str, str]:
    dev = ensure_dev_key(TEST_KEY_PATH)
    kid = public_jwk(dev)["kid"]
    public_pem = dev.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    return {
        "alg=none": _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, _claims(role), lambda _: b""),
        "HS256 with the public key": _unsigned(
            {"alg": "HS256", "typ": "JWT", "kid": kid},
            _claims(role),
            lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
        ),
        "wrong issuer": _signed(_claims(role, iss="https://evil.example/")),
        "wrong audience": _signed(_claims(role, aud="another-api")),
        "expired": _signed(_claims(role, iat=now - 7200, nbf=now - 7200, exp=now - 3600)),
        "not yet valid": _signed(_claims(role, nbf=now + 3600, exp=now + 7200)),
        "unknown kid": _signed(_claims(role), key=stranger),
        "another key under our kid": _signed(_claims(role), key=stranger, kid=kid),
        "no exp": _signed({k: v for k, v in _claims(role).items() if k != "exp"}),
        "roles not a list": _signed(_claims(role, roles=role)),
    }


async def test_each_service_rejects_forged_tokens(
    referrals: httpx.AsyncClient, cases: httpx.AsyncClient, outcomes: httpx.AsyncClient
) -> None:
    for service, client in (("referrals", referrals), ("cases", cases), ("outcomes", outcomes)):
        url, role = ENDPOINTS[service], ROLE[service]
        good = await client.get(url, headers=auth(_signed(_claims(role))))
        assert good.status_code == 200, good.text  # the control: the same claims, properly signed
        for name, token in forged_tokens(role).items():
            response = await client.get(url, headers=auth(token))
            assert response.status_code == 401, (service, name, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        for header in ("Basic dXNlcjpwYXNz", "Bearer ", "Bearer a.b", "Bearer " + "A" * 20000):
            assert (await client.get(url, headers={"Authorization": header})).status_code == 401, header


class Jwks:
    """A real JWKS endpoint whose keys the test rotates; counts fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    server = Jwks()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


async def test_rotated_key_is_accepted_without_restart_and_unknown_kid_refreshes_once(
    jwks: Jwks, referrals_db: str, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from referrals.app import create_app
    from referrals.config import Settings

    old, new = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    jwks.keys = [public_jwk(old)]

    def token(key: rsa.RSAPrivateKey) -> dict[str, str]:
        return auth(mint_token(key, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, sub="rotation", roles=["hub_manager"],
                               hubs=["north"], agency="LCC"))  # fmt: skip

    async with app_client(
        create_app, Settings, referrals_db, sessionmaker=referrals_sessions, jwks_url=jwks.url, rate_limit_per_second=0
    ) as client:
        client.app.state.verifier.refresh_cooldown = 0.0  # type: ignore[attr-defined]
        assert (await client.get("/v1/referrals", headers=token(old))).status_code == 200
        assert jwks.fetches == 1
        # a token from a key nobody published: one refresh, then 401 (no fetch storm on repeats within cooldown)
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        client.app.state.verifier.refresh_cooldown = 60.0  # type: ignore[attr-defined]
        client.app.state.verifier._last_refresh = 0.0  # type: ignore[attr-defined]
        for _ in range(5):
            assert (await client.get("/v1/referrals", headers=token(stranger))).status_code == 401
        assert jwks.fetches == 2, "an unknown kid must trigger exactly one JWKS refresh"
        # the issuer rotates: the new key is published and the old one withdrawn
        jwks.keys = [public_jwk(new)]
        client.app.state.verifier._last_refresh = 0.0  # type: ignore[attr-defined]
        assert (await client.get("/v1/referrals", headers=token(new))).status_code == 200
        assert jwks.fetches == 3
        assert (await client.get("/v1/referrals", headers=token(old))).status_code == 401
