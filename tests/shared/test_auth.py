"""Bearer JWT verification: every forged or stale token is a 401 problem."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from shared.auth import TokenVerifier, ensure_dev_key, mint_token, public_jwk
from shared.errors import Unauthorized
from shared.settings import DEV_AUDIENCE, DEV_ISSUER
from tests.support import TEST_KEY_PATH, auth, free_port, make_token


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "x",
        "iat": now,
        "exp": now + 600,
        "roles": ["admin"],
    }
    claims.update(over)
    return claims


async def _status(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/admin-only", headers=auth(token))


async def test_valid_token_with_role_passes(shared_client: httpx.AsyncClient) -> None:
    r = await _status(shared_client, make_token("admin"))
    assert r.status_code == 200


async def test_missing_role_is_403(shared_client: httpx.AsyncClient) -> None:
    r = await _status(shared_client, make_token("analyst"))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"


async def test_missing_token_is_401(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.get("/admin-only")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_alg_none_is_rejected(shared_client: httpx.AsyncClient) -> None:
    kid = public_jwk(ensure_dev_key(TEST_KEY_PATH))["kid"]
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(_claims())}."
    r = await _status(shared_client, token)
    assert r.status_code == 401
    assert r.json()["status"] == 401


async def test_hs256_signed_with_public_key_is_rejected(shared_client: httpx.AsyncClient) -> None:
    key = ensure_dev_key(TEST_KEY_PATH)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": public_jwk(key)["kid"]}
    signing_input = f"{_b64(header)}.{_b64(_claims())}".encode()
    import hashlib
    import hmac

    sig = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    token = signing_input.decode() + "." + sig.decode()
    r = await _status(shared_client, token)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"iss": "https://evil.example/"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
    ],
)
async def test_bad_claims_are_rejected(
    shared_client: httpx.AsyncClient, override: dict[str, Any], message: str
) -> None:
    key = ensure_dev_key(TEST_KEY_PATH)
    token = jwt.encode(_claims(**override), key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"]})
    r = await _status(shared_client, token)
    assert r.status_code == 401
    assert message in r.json()["detail"]


async def test_token_from_another_key_is_rejected(shared_client: httpx.AsyncClient) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = mint_token(stranger, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, sub="x", roles=["admin"])
    r = await _status(shared_client, token)
    assert r.status_code == 401


class JwksServer:
    """A real HTTP JWKS endpoint whose keys the test can rotate."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        self.port = free_port()
        app = FastAPI()

        @app.get("/jwks.json")
        async def jwks() -> dict[str, Any]:
            self.hits += 1
            return {"keys": self.keys}

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    server = JwksServer()
    task = asyncio.create_task(server.server.serve())
    while not server.server.started:
        await asyncio.sleep(0.01)
    yield server
    server.server.should_exit = True
    await task


async def test_unknown_kid_refreshes_once_and_rotation_needs_no_restart(jwks_server: JwksServer) -> None:
    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.keys = [public_jwk(old)]
    verifier = TokenVerifier(issuer="iss", audience="aud", jwks_url=jwks_server.url, refresh_cooldown=0.0)

    principal = await verifier.verify(mint_token(old, issuer="iss", audience="aud", sub="a", roles=["analyst"]))
    assert principal.sub == "a"
    assert jwks_server.hits == 1

    # A token with an unknown kid costs exactly one refresh, and is refused.
    jwks_server.keys = [public_jwk(old)]
    with pytest.raises(Unauthorized):
        await verifier.verify(mint_token(new, issuer="iss", audience="aud", sub="b", roles=["analyst"]))
    assert jwks_server.hits == 2

    # The issuer rotates to the new key: the same verifier accepts it after one refresh.
    jwks_server.keys = [public_jwk(new)]
    principal = await verifier.verify(mint_token(new, issuer="iss", audience="aud", sub="c", roles=["analyst"]))
    assert principal.sub == "c"
    assert jwks_server.hits == 3
    # Known kid: no further fetches.
    await verifier.verify(mint_token(new, issuer="iss", audience="aud", sub="d", roles=["analyst"]))
    assert jwks_server.hits == 3


async def test_jwks_key_is_pinned_to_its_algorithm(jwks_server: JwksServer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = public_jwk(key) | {"alg": "RS512"}
    jwks_server.keys = [jwk]
    verifier = TokenVerifier(issuer="iss", audience="aud", jwks_url=jwks_server.url)
    token = jwt.encode(_claims(iss="iss", aud="aud"), key, algorithm="RS256", headers={"kid": jwk["kid"]})
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_a_key_removed_from_the_jwks_stops_being_trusted_after_the_max_age(
    jwks_server: JwksServer, referrals_db: str, build_app: Any
) -> None:
    """Issue 19: the JWKS was refreshed only on an unknown kid, so a removed key stayed trusted until restart.
    Through a service's HTTP interface, on a clock the test moves (no waiting)."""
    removed = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kept = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.keys = [public_jwk(removed), public_jwk(kept)]
    app = build_app(referrals_db, jwks_url=jwks_server.url, jwks_max_age_seconds=120)
    now = [1000.0]
    async with LifespanManager(app) as manager:
        built = app.state.verifier
        assert built.max_age == 120  # the setting reaches the service's verifier
        app.state.verifier = TokenVerifier(
            issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks_url=jwks_server.url, max_age=120, clock=lambda: now[0]
        )

        def token(key: rsa.RSAPrivateKey) -> dict[str, str]:
            return auth(mint_token(key, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, sub="s", roles=["admin"]))

        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/admin-only", headers=token(removed))).status_code == 200
            jwks_server.keys = [public_jwk(kept)]  # the identity provider withdraws the key
            now[0] += 60
            assert (await client.get("/admin-only", headers=token(removed))).status_code == 200  # within max age
            assert jwks_server.hits == 1
            now[0] += 61
            refused = await client.get("/admin-only", headers=token(removed))
            assert refused.status_code == 401
            assert "unknown key" in refused.json()["detail"]
            assert (await client.get("/admin-only", headers=token(kept))).status_code == 200
            assert jwks_server.hits == 2
