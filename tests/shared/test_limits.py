"""Per-client rate limits (429 + Retry-After) and request timeouts (503, never a hang)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from tests.support import auth, make_token


async def test_rate_limit_is_per_client(referrals_db: str, build_app: Any) -> None:
    app = build_app(referrals_db, rate_limit_per_second=1.0, rate_limit_burst=3)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            a, b = auth(make_token("admin", sub="client-a")), auth(make_token("admin", sub="client-b"))
            statuses = [(await client.get("/admin-only", headers=a)).status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            limited = await client.get("/admin-only", headers=a)
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.headers["content-type"] == "application/problem+json"
            assert (await client.get("/admin-only", headers=b)).status_code == 200  # another client's budget
            assert (await client.get("/healthz")).status_code == 200  # health is never limited


async def test_slow_request_times_out_with_503(referrals_db: str, build_app: Any) -> None:
    app = build_app(referrals_db, request_timeout_seconds=0.2)
    slow = APIRouter()

    @slow.get("/slow")
    async def slow_endpoint() -> dict[str, str]:
        await asyncio.sleep(5)
        return {"done": "late"}

    app.include_router(slow)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/slow")
    assert r.status_code == 503
    assert "longer than 0.2" in r.json()["detail"]


async def test_a_bulk_route_may_have_a_longer_time_limit() -> None:
    """`TimeLimit(overrides=…)`: a slow import keeps going where any other route is cut off."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from shared.limits import TimeLimit
    from shared.middleware import PlatformMiddleware, RequestPolicy

    async def slow(request: Any) -> PlainTextResponse:
        await asyncio.sleep(0.3)
        return PlainTextResponse("done")

    app = Starlette(routes=[Route("/v1/observations/import", slow), Route("/v1/other", slow)])
    wrapped = PlatformMiddleware(app, RequestPolicy(time=TimeLimit(0.1, {"/v1/observations/import": 5})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as client:
        bulk = await client.get("/v1/observations/import")
        other = await client.get("/v1/other")
    assert bulk.status_code == 200 and bulk.text == "done"
    assert other.status_code == 503 and other.headers["content-type"] == "application/problem+json"
    assert "0.1 s" in other.json()["detail"]


async def test_a_statement_may_run_as_long_as_the_longest_request_limit(referrals_db: str, build_app: Any) -> None:
    """The engine's per-statement limit follows the request limits: a whole-cohort evaluation is one statement
    that may outlast the ordinary 30 s, so it must not be cut off by the driver under its own 900 s limit."""

    async def statement_limit(timeout_overrides: dict[str, float] | None) -> float:
        app = build_app(referrals_db, timeout_overrides=timeout_overrides, request_timeout_seconds=12)
        async with LifespanManager(app), app.state.db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return float(raw.driver_connection._config.command_timeout)  # type: ignore[union-attr]

    assert await statement_limit(None) == 12
    assert await statement_limit({"/v1/evaluations": 900, "/v1/observations/import": 300}) == 900


def _unsigned(sub: str) -> dict[str, str]:
    """A token that claims `sub` but was signed by nobody (the form an attacker can mint at will)."""
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return {"Authorization": f"Bearer {part({'alg': 'RS256', 'kid': 'forged'})}.{part({'sub': sub})}.c2ln"}


async def test_forged_tokens_do_not_spend_a_real_clients_budget(referrals_db: str, build_app: Any) -> None:
    """Issue 19 E: buckets are keyed on the verified principal; an unsigned token is only its address."""
    app = build_app(referrals_db, rate_limit_per_second=0.01, rate_limit_burst=3)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            forged = [
                (await client.get("/admin-only", headers=_unsigned("school-mis-001"))).status_code for _ in range(5)
            ]
            assert forged == [401, 401, 401, 429, 429]  # the forger's address ran out, not the partner's budget
            real = auth(make_token("admin", sub="school-mis-001"))
            assert (await client.get("/admin-only", headers=real)).status_code == 200


async def test_changing_the_unverified_sub_does_not_escape_the_address_limit(referrals_db: str, build_app: Any) -> None:
    app = build_app(referrals_db, rate_limit_per_second=0.01, rate_limit_burst=3)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses = [
                (await client.get("/admin-only", headers=_unsigned(f"random-{i}"))).status_code for i in range(5)
            ]
    assert statuses == [401, 401, 401, 429, 429]


async def test_exemptions_are_exact_paths(referrals_db: str, build_app: Any) -> None:
    app = build_app(referrals_db, rate_limit_per_second=0.01, rate_limit_burst=2)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            lookalike = [(await client.get("/healthz_anything")).status_code for _ in range(3)]
            assert lookalike == [404, 404, 429]
            assert [(await client.get("/healthz")).status_code for _ in range(3)] == [200, 200, 200]
