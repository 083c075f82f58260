"""The entry point of intake: the `referral.accepted` event handler (the events endpoint is `shared.events`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cases.deps import intake_service
from shared.events import CloudEvent


async def handle_referral_accepted(session: AsyncSession, event: CloudEvent) -> None:
    """The `referral.accepted` consumer (runs inside the inbox transaction of `POST /v1/events`)."""
    await intake_service(session).open_from_referral(event)


EVENT_HANDLERS = {"referral.accepted": handle_referral_accepted}
