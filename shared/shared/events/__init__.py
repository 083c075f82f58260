"""Transactional outbox, HTTP relay and idempotent inbox.

* `outbox` — `publish()` writes an event (CloudEvents 1.0 envelope) and one delivery per matching subscription in
  the caller's transaction, so a state change and its announcement commit together.
* `relay` — `OutboxRelay` delivers due deliveries over HTTP, signed per Standard Webhooks. Several relays may run at
  once: each batch is claimed with `FOR UPDATE SKIP LOCKED`; deliveries to one subscriber about one subject go in
  order; failures retry with exponential backoff and jitter; after the last attempt a delivery is dead-lettered
  and can be replayed by an admin (`admin`).
* `inbox` — `events_router()` is a consumer endpoint: it verifies the signature, records the event id in the inbox
  (a redelivery is a no-op) and runs the handler in the same transaction.
* `envelope` — the CloudEvents envelope and the Standard Webhooks signature.

Every name is importable from `shared.events` itself.
"""

from shared.events.admin import ReplayRequest, outbox_admin_router
from shared.events.envelope import CloudEvent, new_secret, sign_headers
from shared.events.inbox import EventHandler, accept_once, events_router, verify_delivery
from shared.events.outbox import (
    NOTIFY_CHANNEL,
    OutboxEvent,
    outbox_ctes,
    publish,
    replay_dead,
    sync_internal_subscriptions,
)
from shared.events.relay import OutboxRelay

__all__ = [
    "NOTIFY_CHANNEL",
    "CloudEvent",
    "EventHandler",
    "OutboxEvent",
    "OutboxRelay",
    "ReplayRequest",
    "accept_once",
    "events_router",
    "new_secret",
    "outbox_admin_router",
    "outbox_ctes",
    "publish",
    "replay_dead",
    "sign_headers",
    "sync_internal_subscriptions",
    "verify_delivery",
]
