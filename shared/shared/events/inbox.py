"""The consumer side: `events_router()` verifies a delivery's signature, records the event id in the inbox
(a redelivery is a no-op) and runs the handler in the same transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook, WebhookVerificationError

from shared.db import SessionDep
from shared.errors import BadRequest, Unauthorized
from shared.events.envelope import CloudEvent
from shared.platform_tables import PlatformTables

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def verify_delivery(secret: str, body: bytes, headers: Mapping[str, str]) -> CloudEvent:
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError as exc:
        raise Unauthorized(f"Event signature rejected: {exc}") from exc
    try:
        return CloudEvent.model_validate_json(body)
    except ValueError as exc:
        raise BadRequest("The body is not a CloudEvents 1.0 JSON envelope") from exc


async def accept_once(session: AsyncSession, tables: PlatformTables, event: CloudEvent) -> bool:
    """Record the event id in the inbox; False when it was seen before (the redelivery is a no-op)."""
    stmt = (
        text(
            "INSERT INTO inbox (event_id, type, source) VALUES (:id, :type, :source) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        )
    ).bindparams(id=event.id, type=event.type, source=event.source)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


def events_router(
    tables: PlatformTables,
    handlers: Mapping[str, EventHandler],
    secret_of: Callable[[Request], str],
) -> APIRouter:
    """`POST /v1/events`: the signed, idempotent entry point for events from other services."""
    router = APIRouter(tags=["events"])

    @router.post("/v1/events", summary="Receive a signed CloudEvent from another service")
    async def receive_event(request: Request, session: SessionDep) -> dict[str, Any]:
        body = await request.body()
        event = verify_delivery(secret_of(request), body, request.headers)
        handler = handlers.get(event.type)
        if handler is None:
            return {"status": "ignored", "id": event.id}
        if not await accept_once(session, tables, event):
            return {"status": "duplicate", "id": event.id}
        await handler(session, event)
        return {"status": "processed", "id": event.id}

    return router
