"""Malformed claims in a validly signed token (issue 19, finding I): a list where one agency code belongs, an
agency type that is not one of the platform's, a sub that is not a string — each is a 401 problem, never a 500 and
never stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.referrals.conftest import maternity_payload
from tests.support import auth, make_token

MALFORMED: dict[str, dict[str, Any]] = {
    "agency as a list": {"agency": ["MAT-LTH", "MAT-OTHER"], "agency_type": "maternity"},
    "agency as an object": {"agency": {"code": "MAT-LTH"}, "agency_type": "maternity"},
    "unknown agency type": {"agency": "MAT-LTH", "agency_type": "martian"},
    "agency type as a list": {"agency": "MAT-LTH", "agency_type": ["maternity"]},
    "sub as a number": {"agency": "MAT-LTH", "agency_type": "maternity", "sub": 12345},
    "scope as a number": {"agency": "MAT-LTH", "agency_type": "maternity", "scope": 7},
}


@pytest.mark.parametrize("claims", MALFORMED.values(), ids=list(MALFORMED))
async def test_a_signed_token_with_malformed_claims_is_401(client: httpx.AsyncClient, claims: dict[str, Any]) -> None:
    headers = {**auth(make_token("partner_system", **claims)), "Idempotency-Key": "malformed-claims"}
    created = await client.post("/v1/referrals/maternity", json=maternity_payload(), headers=headers)
    assert created.status_code == 401, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert created.json()["status"] == 401
    listed = await client.get("/v1/referrals", headers=headers)
    assert listed.status_code == 401, listed.text


async def test_every_known_agency_type_is_accepted(client: httpx.AsyncClient) -> None:
    for agency_type in ("school", "maternity", "police", "health", "probation", "housing", "vcs", "council"):
        headers = auth(make_token("partner_system", agency=f"AG-{agency_type}", agency_type=agency_type))
        assert (await client.get("/v1/referrals", headers=headers)).status_code == 200
