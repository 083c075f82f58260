"""Thin HTTP handlers of partner webhooks: subscribe, list, unsubscribe, and the delivery log."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from referrals.deps import PartnerOrAdmin, WebhooksServiceDep
from referrals.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
)
from shared.fields import CURSOR_LENGTH
from shared.pagination import AFTER, BEFORE, FROM_END, Window, encode_cursor, int64

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _webhook(row: dict[str, Any]) -> WebhookRead:
    return WebhookRead.model_validate(row, from_attributes=False)


@router.post("", status_code=201, response_model=WebhookCreated, summary="Subscribe to status changes")
async def create_webhook(
    body: WebhookCreate, webhooks: WebhooksServiceDep, principal: PartnerOrAdmin
) -> WebhookCreated:
    return WebhookCreated.model_validate(await webhooks.create(principal, body))


@router.get("", response_model=WebhookPage, summary="Your webhooks (secrets are never shown again)")
async def list_webhooks(webhooks: WebhooksServiceDep, principal: PartnerOrAdmin) -> WebhookPage:
    return WebhookPage(items=[_webhook(r) for r in await webhooks.webhooks(principal)])


@router.delete("/{webhook_id}", status_code=204, summary="Unsubscribe")
async def delete_webhook(webhook_id: uuid.UUID, webhooks: WebhooksServiceDep, principal: PartnerOrAdmin) -> Response:
    await webhooks.delete(principal, webhook_id)
    return Response(status_code=204)


LEGACY_CURSOR = re.compile(r"[0-9]{1,18}")
"""A cursor issued before the delivery log used `shared.pagination`: a delivery id in decimal, still accepted."""


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, summary="Deliveries to a webhook")
async def list_deliveries(
    webhook_id: uuid.UUID,
    webhooks: WebhooksServiceDep,
    principal: PartnerOrAdmin,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=AFTER)] = None,
    before: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=BEFORE)] = None,
    from_end: Annotated[bool, Query(description=FROM_END)] = False,
) -> DeliveryPage:
    """Newest first; pages forward with `cursor`, backward with `before` or `from_end`."""
    if cursor is not None and LEGACY_CURSOR.fullmatch(cursor):
        cursor = encode_cursor(int(cursor))
    window = Window.of(limit=limit, after=cursor, before=before, from_end=from_end, parsers=(int64,))
    page = await webhooks.deliveries(principal, webhook_id, window=window)
    items = [DeliveryRead.model_validate(r) for r in page.rows]
    return DeliveryPage(items=items, **page.links(lambda r: (r["id"],)))
