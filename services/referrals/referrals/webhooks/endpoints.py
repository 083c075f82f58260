"""Thin HTTP handlers of partner webhooks: subscribe, list, unsubscribe, and the delivery log."""

from __future__ import annotations

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


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, summary="Deliveries to a webhook")
async def list_deliveries(
    webhook_id: uuid.UUID,
    webhooks: WebhooksServiceDep,
    principal: PartnerOrAdmin,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]{1,18}$")] = None,
) -> DeliveryPage:
    rows = await webhooks.deliveries(principal, webhook_id, limit=limit + 1, before_id=int(cursor) if cursor else None)
    page = rows[:limit]
    next_cursor = str(page[-1]["id"]) if len(rows) > limit and page else None
    return DeliveryPage(items=[DeliveryRead.model_validate(r) for r in page], next_cursor=next_cursor)
