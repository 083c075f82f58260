"""Every answer under the rate limit says the policy and what is left (IETF draft `RateLimit` headers), as the
OpenAPI documents declare (`shared.openapi.RATE_LIMIT_HEADERS`); the probes are not limited and say nothing."""

from __future__ import annotations

import re
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from shared.openapi import RATE_LIMIT_HEADERS
from tests.support import auth, make_token


async def test_answers_carry_the_rate_limit_headers_the_documents_declare(referrals_db: str, build_app: Any) -> None:
    app = build_app(referrals_db, rate_limit_per_second=1.0, rate_limit_burst=3)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            a = auth(make_token("admin", sub="headers-a"))
            answers = [await client.get("/admin-only", headers=a) for _ in range(4)]
            health = await client.get("/healthz")
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit"] == '"burst";r=2;t=1'  # one of three taken from a full bucket
    assert answers[-1].headers["ratelimit"].startswith('"burst";r=0;')  # refused: nothing left
    for response in answers:
        assert response.headers["ratelimit-policy"] == '"burst";q=3;w=3'
        for name, header in RATE_LIMIT_HEADERS.items():
            assert re.fullmatch(header["schema"]["pattern"], response.headers[name]), name
    assert "ratelimit" not in health.headers
    document = app.openapi()
    assert set(RATE_LIMIT_HEADERS) <= set(document["paths"]["/admin-only"]["get"]["responses"]["200"]["headers"])
    assert "headers" not in document["paths"]["/healthz"]["get"]["responses"]["200"]
