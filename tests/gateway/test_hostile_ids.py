"""Ids and keys a client sends that cannot go into an upstream URL or header as they are (found by
tests/security/test_gateway_fuzz.py): each must reach the service safely encoded, or be refused as a typed user
error, never become a masked INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import httpx
import pytest
import respx

from gateway.clients import Caller, CasesAPI, ReferralsAPI, Upstream
from gateway.clients.base import segment
from gateway.errors import UpstreamError
from tests.gateway.conftest import codes, gateway_client, gql
from tests.security.test_gateway_authz import camel
from tests.support import make_token

BASE = "http://svc.test"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("8c3e8d4e-0000-4000-8000-000000000001", "8c3e8d4e-0000-4000-8000-000000000001"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a/../b", "a%2F..%2Fb"),
        ("a\x0bb", "a%0Bb"),
        ("ùõ", "%C3%B9%C3%B5"),
        ("x?y#z", "x%3Fy%23z"),
    ],
)
def test_segment_encodes_everything_that_is_not_a_plain_id(value: str, encoded: str) -> None:
    assert segment(value) == encoded


@respx.mock
async def test_a_dot_dot_case_id_stays_inside_the_case_path() -> None:
    route = respx.post(f"{BASE}/v1/cases/%2E%2E/close").mock(return_value=httpx.Response(404, json={"status": 404}))
    escaped = respx.post(f"{BASE}/v1/close").mock(return_value=httpx.Response(200, json={}))
    upstream = Upstream("cases", BASE)
    try:
        with pytest.raises(UpstreamError) as raised:
            await CasesAPI(upstream, Caller(token="t", request_id=None)).close_case("..", {"reason": "x"}, None)
    finally:
        await upstream.aclose()
    assert raised.value.status == 404
    assert route.called and not escaped.called


@respx.mock
async def test_a_control_character_in_an_id_is_sent_encoded() -> None:
    route = respx.post(f"{BASE}/v1/referrals/a%0Bb/withdraw").mock(
        return_value=httpx.Response(404, json={"status": 404, "detail": "not found"})
    )
    upstream = Upstream("referrals", BASE)
    try:
        with pytest.raises(UpstreamError, match="not found"):
            await ReferralsAPI(upstream, Caller(token="t", request_id=None)).withdraw("a\x0bb", {"reason": "x"})
    finally:
        await upstream.aclose()
    assert route.called


async def test_a_non_ascii_idempotency_key_is_a_user_error() -> None:
    from tests.referrals.conftest import maternity_payload

    query = """mutation($input: MaternityReferralInput!, $key: String!) {
      submitMaternityReferral(input: $input, idempotencyKey: $key) { referral { id } userErrors { field code } }
    }"""
    partner = make_token("partner_system", sub="p", agency="MAT-LTH", agency_type="maternity")
    async with gateway_client() as client:  # the upstreams are unreachable: the key is refused before any call
        for key in ("ùõﻶ", "", "a b", "x" * 256):
            body = await gql(client, query, {"input": camel(maternity_payload()), "key": key}, token=partner)
            assert codes(body) == [], body
            payload = body["data"]["submitMaternityReferral"]
            assert payload == {"referral": None, "userErrors": [{"field": "idempotencyKey", "code": "INVALID"}]}
