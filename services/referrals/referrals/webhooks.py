"""Partner webhooks: a partner subscribes to the status changes of its own referrals (shared outbox)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from typing import Any

import httpx

from referrals.repository import ReferralRepository
from referrals.schemas import WebhookCreate
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, UnprocessableContent, field_error
from shared.events import new_secret
from shared.settings import Environment


def check_url(url: str, environment: Environment) -> str:
    """Only https outside development and test, and never an address inside the council's network."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _bad_url(f"not a URL ({exc})") from exc
    relaxed = environment in (Environment.development, Environment.test)
    allowed = ("https", "http") if relaxed else ("https",)
    if parsed.scheme not in allowed or not parsed.host:
        raise _bad_url("the webhook URL must be https://host/…" + (" (or http in development)" if relaxed else ""))
    if not relaxed:
        try:
            address = ipaddress.ip_address(parsed.host)
        except ValueError:
            address = None
        if parsed.host == "localhost" or (address is not None and not address.is_global):
            raise _bad_url("the webhook URL must point at a public address")
    return str(parsed)


async def check_resolves(url: str) -> None:
    """Every address the host resolves to must be public (`http://2130706433/`, `127.1` or a name pointing
    inside the council's network are refused). Checked at registration; see docs/security.md (F4) for the
    remaining DNS-rebinding window."""
    parsed = httpx.URL(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parsed.host, parsed.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _bad_url(f"the host {parsed.host!r} does not resolve") from exc
    for info in infos:
        if not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_global:
            raise _bad_url("the webhook URL must point at a public address")


def _bad_url(message: str) -> UnprocessableContent:
    return UnprocessableContent(f"Invalid webhook URL: {message}", errors=[field_error("/url", message)])


def _owner(principal: Principal) -> str | None:
    """The agency whose webhooks the caller manages; None for an admin, who sees them all."""
    if principal.has_role("partner_system") and principal.agency:
        return principal.agency
    if principal.has_role("admin"):
        return None
    raise Forbidden("Webhooks belong to a partner system's agency: the token has no agency claim")


async def create_webhook(
    *, repo: ReferralRepository, principal: Principal, body: WebhookCreate, environment: Environment
) -> dict[str, Any]:
    if not (principal.has_role("partner_system") and principal.agency):
        raise Forbidden("Only a partner system (with an agency claim) can register a webhook")
    url = check_url(body.url, environment)
    if environment not in (Environment.development, Environment.test):
        await check_resolves(url)
    return await repo.create_subscription(
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


async def list_webhooks(*, repo: ReferralRepository, principal: Principal) -> list[dict[str, Any]]:
    return await repo.subscriptions(_owner(principal))


async def get_webhook(*, repo: ReferralRepository, principal: Principal, webhook_id: uuid.UUID) -> dict[str, Any]:
    found = await repo.subscription(webhook_id, _owner(principal))
    if found is None:
        raise NotFound(f"No webhook {webhook_id} of yours")
    return found


async def delete_webhook(*, repo: ReferralRepository, principal: Principal, webhook_id: uuid.UUID) -> None:
    await get_webhook(repo=repo, principal=principal, webhook_id=webhook_id)
    await repo.deactivate_subscription(webhook_id)


async def deliveries(
    *,
    repo: ReferralRepository,
    principal: Principal,
    webhook_id: uuid.UUID,
    limit: int,
    before_id: int | None,
) -> list[dict[str, Any]]:
    await get_webhook(repo=repo, principal=principal, webhook_id=webhook_id)
    return await repo.deliveries(webhook_id, limit=limit, before_id=before_id)
