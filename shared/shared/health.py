"""`GET /healthz` (the process is alive) and `GET /readyz` (database reachable, migrations at head)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from shared.errors import PROBLEM_BASE, PROBLEM_JSON
from shared.migrate import head_revisions


class Alive(BaseModel):
    """What `/healthz` answers while the process serves."""

    status: str = Field(pattern="^ok$", max_length=2)
    service: str = Field(max_length=64)


def health_router(service_name: str, service_dir: Path) -> APIRouter:
    router = APIRouter(tags=["health"])
    heads = head_revisions(service_dir)

    @router.get("/healthz", summary="Liveness: the process is serving")
    async def healthz() -> Alive:
        return Alive(status="ok", service=service_name)

    @router.get("/readyz", summary="Readiness: database reachable and migrated to head")
    async def readyz(request: Request) -> Any:
        try:
            async with request.app.state.sessionmaker() as session:
                rows = await asyncio.wait_for(
                    session.execute(text("SELECT version_num FROM alembic_version")), timeout=3
                )
                current = {r[0] for r in rows}
        except Exception as exc:
            return _not_ready(service_name, f"database unreachable ({type(exc).__name__})")
        if current != heads:
            return _not_ready(service_name, f"migrations not at head (have {sorted(current)}, need {sorted(heads)})")
        return {"status": "ready", "service": service_name, "revision": sorted(current)}

    return router


def _not_ready(service: str, detail: str) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + "not-ready",
        "title": "Not ready",
        "status": 503,
        "detail": detail,
        "service": service,
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)
