"""The intake benchmark's baseline: a minimal FastAPI + asyncpg endpoint that parses the same JSON body and
does one INSERT on the same PostgreSQL. `uvicorn _baseline:baseline_app --factory` with PYTHONPATH=bench."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response

BASELINE_DB_ENV = "REFERRALS_BENCH_BASELINE_DB"
TABLE_DDL = (
    "CREATE TABLE referrals (id uuid PRIMARY KEY, external_reference text NOT NULL UNIQUE, body jsonb NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now())"
)


def baseline_app() -> Any:
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(os.environ[BASELINE_DB_ENV], min_size=10, max_size=20)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    async def create(request: Request) -> Response:
        body = orjson.loads(await request.body())
        referral_id = uuid.uuid4()
        async with state["pool"].acquire() as conn:
            await conn.execute(
                "INSERT INTO referrals (id, external_reference, body) VALUES ($1, $2, $3)",
                referral_id,
                body["external_reference"],
                orjson.dumps(body).decode(),
            )
        return Response(orjson.dumps({"id": str(referral_id)}), status_code=201, media_type="application/json")

    app.post("/v1/referrals/school")(create)
    app.post("/v1/referrals/maternity")(create)
    return app
