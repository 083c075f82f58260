"""Admin calls on the outbox: the backlog and dead letters, and replaying them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from shared.auth import require_roles
from shared.db import SessionDep
from shared.events.outbox import replay_dead
from shared.platform_tables import PlatformTables


class ReplayRequest(BaseModel):
    delivery_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        default=None, max_length=1000, description="Dead-lettered deliveries to replay (up to 1000); all when omitted"
    )


class Replayed(BaseModel):
    replayed: int = Field(ge=0, le=2**63 - 1, description="How many deliveries went back in the queue")


def outbox_admin_router(tables: PlatformTables) -> APIRouter:
    """Admin calls: outbox backlog and dead letters, and replaying them."""
    router = APIRouter(prefix="/v1/admin/outbox", tags=["admin"], dependencies=[Depends(require_roles("admin"))])
    d = tables.outbox_deliveries

    @router.get("", summary="Outbox backlog and dead letters")
    async def outbox_status(session: SessionDep) -> dict[str, Any]:
        rows = (await session.execute(select(d.c.status, func.count()).group_by(d.c.status))).all()
        oldest = (
            await session.execute(select(func.min(d.c.created_at)).where(d.c.status == "pending"))
        ).scalar_one_or_none()
        dead = (
            await session.execute(
                select(d.c.id, d.c.event_id, d.c.attempts, d.c.last_status_code, d.c.last_error)
                .where(d.c.status == "dead")
                .order_by(d.c.id)
                .limit(100)
            )
        ).all()
        return {
            "counts": {status: count for status, count in rows},
            "oldest_pending_at": oldest.isoformat() if oldest else None,
            "dead": [dict(r._mapping) | {"event_id": str(r.event_id)} for r in dead],
        }

    @router.post("/replay", summary="Replay dead-lettered deliveries")
    async def replay(body: ReplayRequest, session: SessionDep) -> Replayed:
        return Replayed(replayed=await replay_dead(session, tables, body.delivery_ids))

    return router
