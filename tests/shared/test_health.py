"""Every service starts, is migrated, and answers its health checks."""

from __future__ import annotations

import httpx


async def _check(client: httpx.AsyncClient, service: str) -> None:
    alive = await client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok", "service": service}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert ready.headers["x-request-id"]


async def test_referrals_ready(referrals_client: httpx.AsyncClient) -> None:
    await _check(referrals_client, "referrals")


async def test_cases_ready(cases_client: httpx.AsyncClient) -> None:
    await _check(cases_client, "cases")


async def test_outcomes_ready(outcomes_client: httpx.AsyncClient) -> None:
    await _check(outcomes_client, "outcomes")
