"""The connection pool without a ping per checkout: after the database drops every connection (a restart, a
failover), one request answers the 503 problem and the pool is renewed whole, so the next ones are served."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from shared.db import plain_url
from shared.migrate import with_database


async def test_dropped_connections_cost_one_503_then_the_pool_is_fresh(
    fresh_referrals_db: str, server_url: str, build_app: Any
) -> None:
    app = build_app(fresh_referrals_db)
    async with LifespanManager(app) as manager:
        sessionmaker = app.state.sessionmaker

        async def hold_a_connection() -> None:
            async with sessionmaker() as session:
                await session.execute(text("SELECT pg_sleep(0.05)"))

        await asyncio.gather(*(hold_a_connection() for _ in range(4)))  # four connections in the pool
        assert app.state.db.engine.pool.checkedin() == 4
        admin = await asyncpg.connect(plain_url(with_database(server_url, "postgres")))
        try:
            name = fresh_referrals_db.partition("?")[0].rsplit("/", 1)[-1]
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", name
            )
        finally:
            await admin.close()
        assert ended >= 4
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = [await client.get("/echo-into-db", params={"value": f"after-{i}"}) for i in range(5)]
    statuses = [r.status_code for r in answers]
    assert statuses.count(503) <= 1 and set(statuses) <= {200, 503}, statuses
    assert statuses[-4:] == [200, 200, 200, 200], statuses
    for refused in (r for r in answers if r.status_code == 503):
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "2"
