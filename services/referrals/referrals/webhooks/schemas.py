"""Bodies of partner webhooks: subscriptions and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from referrals.fields import ShortText, Strict

WebhookEventType = Literal["referral.status_changed"]


class WebhookCreate(Strict):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000)]
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: list[WebhookEventType](["referral.status_changed"]), min_length=1
    )
    description: ShortText | None = None


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime
    active: bool


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The Standard Webhooks signing secret; shown only in this response")


class WebhookPage(BaseModel):
    items: list[WebhookRead]
    next_cursor: str | None = None


class DeliveryAttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: int
    event_id: uuid.UUID
    event_type: str
    subject: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[DeliveryAttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
