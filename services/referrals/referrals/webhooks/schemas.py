"""Bodies of partner webhooks: subscriptions and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from referrals.fields import ShortText, Strict
from shared.fields import FEW, MANY, PAGE_ITEMS, URL_LENGTH, Code, Count, Cursor, Url
from shared.fields import ShortText as StoredShortText
from shared.pagination import PageLinks

WebhookEventType = Literal["referral.status_changed"]


class WebhookCreate(Strict):
    url: Annotated[str, StringConstraints(min_length=8, max_length=URL_LENGTH)]
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: list[WebhookEventType](["referral.status_changed"]), min_length=1, max_length=FEW
    )
    description: ShortText | None = None


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: Url
    event_types: list[Code] = Field(max_length=FEW)
    description: StoredShortText | None
    created_at: datetime
    active: bool


class WebhookCreated(WebhookRead):
    secret: StoredShortText = Field(description="The Standard Webhooks signing secret; shown only in this response")


class WebhookPage(BaseModel):
    items: list[WebhookRead] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None = None


class DeliveryAttemptRead(BaseModel):
    attempted_at: datetime
    status_code: Annotated[int, Field(ge=100, le=999)] | None
    error: StoredShortText | None
    duration_ms: Count


class DeliveryRead(BaseModel):
    id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    event_id: uuid.UUID
    event_type: Code
    subject: StoredShortText | None
    status: Code
    attempts: Count
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: Annotated[int, Field(ge=100, le=999)] | None
    last_error: StoredShortText | None
    attempt_log: list[DeliveryAttemptRead] = Field(max_length=MANY)


class DeliveryPage(PageLinks):
    items: list[DeliveryRead] = Field(max_length=PAGE_ITEMS)
    next_cursor: Cursor | None
