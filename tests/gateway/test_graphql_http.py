"""GraphQL over HTTP (issue 18), through real HTTP: coercion errors are the client's, and the media types.

The live-platform audit (`graphql-http`) is in tests/conformance/test_graphql_http.py; these need no service.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.media import GRAPHQL_RESPONSE, prefers_graphql_response
from tests.gateway.conftest import gateway_settings
from tests.support import make_token
from tests.support.apps import serve_asgi

MANAGER = make_token("hub_manager", sub="gh-manager", agency="LCC", agency_type="council", hubs=["north"])
BAD_VARIABLES = [
    ("query ($n: Int!) { families(first: $n) { edges { cursor } } }", {"n": "abc"}, "$n"),
    ("query ($s: ReferralStatus) { referrals(filter: {status: $s}) { edges { cursor } } }", {"s": "bogus"}, "$s"),
    ("mutation ($d: Date) { runEvaluation(asOf: $d) { userErrors { message } } }", {"d": "notadate"}, "$d"),
]


async def _post(query: str, variables: dict[str, Any], accept: str) -> httpx.Response:
    async with serve_asgi(create_app(gateway_settings()), lifespan="on") as url, httpx.AsyncClient() as client:
        return await client.post(
            f"{url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Accept": accept, "Authorization": f"Bearer {MANAGER}"},
        )


@pytest.mark.parametrize(("query", "variables", "name"), BAD_VARIABLES)
async def test_a_variable_that_cannot_be_coerced_is_a_client_error_and_not_logged(
    query: str, variables: dict[str, Any], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await _post(query, variables, "application/json")
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and name in error["message"], error
    assert "graphql_unexpected_error" not in caplog.text and "Traceback" not in caplog.text


async def test_the_graphql_response_media_type_answers_400_without_data_for_request_errors() -> None:
    response = await _post(*BAD_VARIABLES[1][:2], accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9")
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert "data" not in response.json() and response.json()["errors"]


async def test_a_field_error_stays_200_under_the_graphql_response_media_type() -> None:
    # the services are unreachable: `frameworks` fails as a field (with a path), so the request itself was fine
    response = await _post("{ frameworks { code } }", {}, GRAPHQL_RESPONSE)
    assert response.status_code == 200 and response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" in body and body["errors"][0]["path"] == ["frameworks"]


def test_accept_negotiation() -> None:
    assert prefers_graphql_response(GRAPHQL_RESPONSE)
    assert prefers_graphql_response(f"application/json, {GRAPHQL_RESPONSE}")
    assert not prefers_graphql_response(f"application/json, {GRAPHQL_RESPONSE};q=0.5")
    assert not prefers_graphql_response("application/json")
    assert not prefers_graphql_response("*/*")
    assert not prefers_graphql_response("")
