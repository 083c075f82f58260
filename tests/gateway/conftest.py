"""Gateway test support: an in-process gateway pointed at any upstream URLs, and metric readers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.config import Settings
from tests.support import TEST_DATA_DIR, TEST_KEY_PATH

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused


def gateway_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "dev_key_path": TEST_KEY_PATH,
        "data_dir": TEST_DATA_DIR,
        "referrals_url": UNREACHABLE,
        "cases_url": UNREACHABLE,
        "outcomes_url": UNREACHABLE,
        "intelligence_url": UNREACHABLE,
        "upstream_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def gateway_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app in-process (lifespan run), talking to real upstreams over HTTP."""
    app = create_app(gateway_settings(**overrides))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30) as client:
            yield client


async def upstream_calls(client: httpx.AsyncClient) -> dict[str, float]:
    """`gateway_upstream_requests_total` by service, read from the gateway's own /metrics."""
    text = (await client.get("/metrics")).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "gateway_upstream_requests":
            continue
        for sample in family.samples:
            if sample.name == "gateway_upstream_requests_total":
                counts[sample.labels["service"]] = sample.value
    return counts


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after) if after.get(k, 0) != before.get(k, 0)
    }


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


Check = Callable[[dict[str, Any]], None]
