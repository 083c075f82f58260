"""Partner webhooks: a partner system subscribes to the status changes of its own agency's referrals (the shared
outbox delivers them); an admin sees every partner's. Who owns a webhook is its agency (`owner`)."""

from __future__ import annotations

import uuid
from typing import Any

from referrals.webhooks.delivery import check_resolves, check_url, relaxed
from referrals.webhooks.repository import WebhookRepository
from referrals.webhooks.schemas import WebhookCreate
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.events import new_secret
from shared.pagination import Slice, Window
from shared.settings import Environment


def owner(principal: Principal) -> str | None:
    """The agency whose webhooks the caller manages; None for an admin, who sees them all."""
    if principal.has_role("partner_system") and principal.agency:
        return principal.agency
    if principal.has_role("admin"):
        return None
    raise Forbidden("Webhooks belong to a partner system's agency: the token has no agency claim")


class WebhooksService:
    """A caller's webhooks; built per request from its repository and the environment (which URLs are allowed)."""

    def __init__(self, repo: WebhookRepository, environment: Environment) -> None:
        self.repo = repo
        self.environment = environment

    async def create(self, principal: Principal, body: WebhookCreate) -> dict[str, Any]:
        if not (principal.has_role("partner_system") and principal.agency):
            raise Forbidden("Only a partner system (with an agency claim) can register a webhook")
        url = check_url(body.url, self.environment)
        if not relaxed(self.environment):
            await check_resolves(url)
        return await self.repo.create_subscription(
            {
                "id": uuid.uuid4(),
                "url": url,
                "event_types": list(dict.fromkeys(body.event_types)),
                "secret": new_secret(),
                "owner_agency": principal.agency,
                "description": body.description,
                "created_by": principal.actor,
                "active": True,
            }
        )

    async def webhooks(self, principal: Principal) -> list[dict[str, Any]]:
        return await self.repo.subscriptions(owner(principal))

    async def webhook(self, principal: Principal, webhook_id: uuid.UUID) -> dict[str, Any]:
        found = await self.repo.subscription(webhook_id, owner(principal))
        if found is None:
            raise NotFound(f"No webhook {webhook_id} of yours")
        return found

    async def delete(self, principal: Principal, webhook_id: uuid.UUID) -> None:
        await self.webhook(principal, webhook_id)
        await self.repo.deactivate_subscription(webhook_id)

    async def deliveries(self, principal: Principal, webhook_id: uuid.UUID, *, window: Window) -> Slice[dict[str, Any]]:
        await self.webhook(principal, webhook_id)
        return await self.repo.deliveries(webhook_id, window=window)
