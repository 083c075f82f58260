"""The verified-token cache: a token's Principal is remembered until the token's own expiry, never for another
token, and a refused token is never remembered."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared import auth as shared_auth
from shared.auth import Principal, TokenVerifier, dev_jwks, ensure_dev_key, mint_token, verify_cached
from shared.errors import Unauthorized
from shared.settings import DEV_AUDIENCE, DEV_ISSUER
from tests.support import TEST_KEY_PATH, auth, make_token


class CountingVerifier(TokenVerifier):
    """The real verifier, counting the verifications it performs."""

    def __init__(self) -> None:
        super().__init__(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=dev_jwks(TEST_KEY_PATH))
        self.calls = 0

    async def verify(self, token: str) -> Principal:
        self.calls += 1
        return await super().verify(token)


def _token(ttl_seconds: int = 600, **extra: Any) -> str:
    return mint_token(
        ensure_dev_key(TEST_KEY_PATH),
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        sub=extra.pop("sub", "cache-test"),
        roles=["partner_system"],
        agency=extra.pop("agency", "SCH-1"),
        agency_type="school",
        ttl_seconds=ttl_seconds,
    )


async def test_a_token_is_verified_once_until_it_expires() -> None:
    verifier = CountingVerifier()
    token = _token()
    first = await verify_cached(verifier, token)
    again = await verify_cached(verifier, token)
    assert (first, again.agency, verifier.calls) == (again, "SCH-1", 1)


async def test_another_token_gets_its_own_principal() -> None:
    verifier = CountingVerifier()
    one = await verify_cached(verifier, _token(agency="SCH-1", sub="a"))
    other = await verify_cached(verifier, _token(agency="SCH-2", sub="b"))
    assert (one.agency, one.sub, other.agency, other.sub, verifier.calls) == ("SCH-1", "a", "SCH-2", "b", 2)


async def test_a_token_past_its_expiry_is_verified_every_time() -> None:
    # expired 5 s ago: still inside the verifier's leeway, so accepted, but never served from the cache
    verifier = CountingVerifier()
    token = _token(ttl_seconds=-5)
    await verify_cached(verifier, token)
    await verify_cached(verifier, token)
    assert verifier.calls == 2


async def test_a_refused_token_is_refused_every_time() -> None:
    verifier = CountingVerifier()
    forged = _token()[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await verify_cached(verifier, forged)
    assert verifier.calls == 2


async def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_auth, "VERIFIED_TOKENS_MAX", 3)
    verifier = CountingVerifier()
    tokens = [_token(sub=f"s{i}") for i in range(5)]
    for token in tokens:
        await verify_cached(verifier, token)
    await verify_cached(verifier, tokens[-1])  # recent: remembered
    await verify_cached(verifier, tokens[0])  # the oldest: dropped, verified again
    assert verifier.calls == 6
    assert len(shared_auth._verified[verifier]) == 3


async def test_requests_with_the_same_token_keep_their_roles(shared_client: httpx.AsyncClient) -> None:
    admin, analyst = make_token("admin"), make_token("analyst")
    statuses = [(await shared_client.get("/admin-only", headers=auth(t))).status_code for t in (admin, analyst) * 2]
    assert statuses == [200, 403, 200, 403]
