"""The bounds the OpenAPI document declares (`shared.fields`) are the server's rules: one character, item or digit
past a bound is a 422 problem naming the field, never a 500 — and a value at the bound is taken."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.fields import CODE_LENGTH, CURSOR_LENGTH, FEW, IDS_LENGTH
from tests.referrals.conftest import admin, create_maternity, partner


def _pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["pointer"] for e in response.json()["errors"]]


QUERY_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("hub", {"hub": "h" * (CODE_LENGTH + 1)}, "#query/hub"),
    ("agency", {"agency": "a" * (CODE_LENGTH + 1)}, "#query/agency"),
    ("cursor", {"cursor": "c" * (CURSOR_LENGTH + 1)}, "#query/cursor"),
    ("ids", {"ids": "x" * (IDS_LENGTH + 1)}, "#query/ids"),
]


@pytest.mark.parametrize(("case", "params", "pointer"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
async def test_an_over_long_list_filter_is_a_422_naming_it(
    client: httpx.AsyncClient, case: str, params: dict[str, Any], pointer: str
) -> None:
    response = await client.get("/v1/referrals", params=params, headers=admin())
    assert pointer in _pointers(response), response.json()


async def test_a_filter_at_its_bound_is_taken(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/referrals", params={"hub": "h" * CODE_LENGTH}, headers=admin())
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_need_codes_are_bounded_in_length(client: httpx.AsyncClient) -> None:
    response = await create_maternity(client, needs=["n" * 65])
    assert "/needs/0" in _pointers(response)


async def test_a_webhook_takes_a_bounded_list_of_event_types(client: httpx.AsyncClient) -> None:
    body = {"url": "https://partner.example/hook", "event_types": ["referral.status_changed"] * (FEW + 1)}
    response = await client.post("/v1/webhooks", json=body, headers=partner())
    assert "/event_types" in _pointers(response)
    long_url = {"url": "https://partner.example/" + "p" * 2100}
    assert "/url" in _pointers(await client.post("/v1/webhooks", json=long_url, headers=partner()))


async def test_a_token_with_an_over_long_subject_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/referrals", headers=partner(sub="s" * 256))
    assert response.status_code == 401, response.text
    assert "at most 255" in response.json()["detail"]
