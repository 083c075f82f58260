"""Issue 19 F, J and K through real HTTP: the gateway (and a service) served by uvicorn on a loopback port.

* F: `health` makes one round of upstream `/readyz` calls per request (and per cache period) whatever its aliases;
  one request's upstream calls are bounded; the gateway rate-limits by client address, forged tokens or not.
* J: no "Did you mean …?" field suggestions outside development.
* K: `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on the gateway's answers and a service's.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from cases.app import create_app as create_cases
from cases.config import Settings as CasesSettings
from gateway.app import create_app
from gateway.clients import SERVICES
from tests.gateway.conftest import codes, delta, gateway_settings, upstream_calls
from tests.support import TEST_DATA_DIR, TEST_KEY_PATH, make_token
from tests.support.apps import serve_asgi

ANALYST = make_token("analyst", sub="gw-analyst", agency="LCC", agency_type="council")


@asynccontextmanager
async def served_gateway(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app on a real loopback port (uvicorn, lifespan run); its services unreachable."""
    app = create_app(gateway_settings(**overrides))
    async with serve_asgi(app, lifespan="on") as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def post(client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def health_aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: health {{ ready }}" for i in range(count)) + " }"


# --- F: amplification ----------------------------------------------------------------------------------------


async def test_thirty_health_aliases_make_one_round_of_readiness_calls() -> None:
    async with served_gateway(health_cache_seconds=0) as client:
        before = await upstream_calls(client)
        response = await post(client, health_aliases(30))
        assert response.status_code == 200 and len(response.json()["data"]) == 30
        # one /readyz per service (with its one retry, as the services are down), not 30 of each
        assert delta(before, await upstream_calls(client)) == {s: 2 for s in SERVICES}


async def test_readiness_is_reused_across_requests_while_fresh() -> None:
    async with served_gateway(health_cache_seconds=3600) as client:
        before = await upstream_calls(client)
        for _ in range(5):
            assert (await post(client, health_aliases(10))).status_code == 200
        assert (await client.get("/readyz")).status_code == 503
        assert delta(before, await upstream_calls(client)) == {s: 2 for s in SERVICES}


async def test_one_requests_upstream_calls_are_bounded_whatever_the_aliases() -> None:
    async with served_gateway(max_upstream_calls=4) as client:
        before = await upstream_calls(client)
        query = "{ " + " ".join(f"f{i}: frameworks {{ code }}" for i in range(5)) + " }"
        body = (await post(client, query, token=ANALYST)).json()
        spent = delta(before, await upstream_calls(client))
        assert sum(spent.values()) == 4, spent
        assert "UPSTREAM_CALL_LIMIT" in codes(body)
        limit = next(e for e in body["errors"] if e["extensions"]["code"] == "UPSTREAM_CALL_LIMIT")
        assert limit["extensions"]["limit"] == 4


async def test_the_gateway_limits_by_client_address_not_by_token() -> None:
    async with served_gateway(rate_limit_per_second=0.001, rate_limit_burst=3) as client:
        for _ in range(3):
            assert (await post(client, "{ __typename }")).status_code == 200
        # forged, unsigned tokens with fresh subjects do not open new buckets
        for _ in range(3):
            forged = f"e30.{secrets.token_urlsafe(12)}.x"
            refused = await post(client, "{ __typename }", token=forged)
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/healthz")).status_code == 200  # liveness is never limited


# --- J: no schema hints ----------------------------------------------------------------------------------------


async def test_no_field_suggestions_outside_development() -> None:
    async with served_gateway() as client:
        body = (await post(client, "{ me { sbu } }")).json()
        assert body["errors"] and all("Did you mean" not in e["message"] for e in body["errors"]), body
        assert "Cannot query field 'sbu' on type 'Me'." in [e["message"] for e in body["errors"]]
        enum = (await post(client, "query ($r: ServiceName!) { __typename }", r="REFERALS")).json()
        assert enum["errors"] and all("Did you mean" not in e["message"] for e in enum["errors"]), enum


async def test_field_suggestions_stay_in_development() -> None:
    async with served_gateway(environment="development") as client:
        body = (await post(client, "{ me { sbu } }")).json()
        assert any("Did you mean 'sub'?" in e["message"] for e in body["errors"]), body


# --- K: caching and sniffing -----------------------------------------------------------------------------------


def assert_private(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", (response.url, response.headers)
    assert response.headers.get("x-content-type-options") == "nosniff", (response.url, response.headers)


async def test_every_gateway_answer_is_no_store_and_nosniff() -> None:
    async with served_gateway() as client:
        assert_private(await post(client, "{ me { sub roles } }", token=ANALYST))
        assert_private(await post(client, "{ frameworks { code } }", token=ANALYST))  # a partial answer with errors
        assert_private(await post(client, "{ nope }"))  # a validation error
        assert_private(await client.get("/reports/cohort"))  # a problem (no token)
        assert_private(await client.get("/readyz"))


async def test_a_services_answers_are_no_store_and_nosniff(cases_db: str) -> None:
    settings = CasesSettings(
        database_url=cases_db,
        environment="test",
        dev_key_path=TEST_KEY_PATH,
        data_dir=TEST_DATA_DIR,
        relay_enabled=False,
        idempotency_purge_interval=0,
    )
    manager = make_token("hub_manager", sub="k-manager", agency="LCC", agency_type="council", hubs=["north"])
    async with serve_asgi(create_cases(settings), lifespan="on") as url, httpx.AsyncClient(base_url=url) as client:
        people = await client.get("/v1/people", params={"ids": "00000000-0000-0000-0000-000000000001"},
                                  headers={"Authorization": f"Bearer {manager}"})  # fmt: skip
        assert people.status_code == 200, people.text
        assert_private(people)
        assert_private(await client.get("/v1/people"))  # 401 problem
        assert_private(await client.get("/healthz"))
