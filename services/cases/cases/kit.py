"""What every domain of the cases service shares: today's date and the repository base.

The base holds what is neither a domain's query nor a rule: inserts in a savepoint (a unique constraint's refusal
becomes `False`, never a driver exception above the repository), advisory locks, the access log and the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import platform
from shared.audit import record_access
from shared.auth import Principal
from shared.events import publish

EVENT_SOURCE = "urn:earlyhelp:cases"


def today() -> date:
    return datetime.now(UTC).date()


class Repository:
    """The base of every domain repository; methods take domain arguments, the request owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def savepoint_insert(self, obj: Any) -> bool:
        """Insert in a savepoint; False when a unique constraint refused it (the caller decides what that means)."""
        try:
            async with self.session.begin_nested():
                self.session.add(obj)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def add(self, obj: Any) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def flush(self) -> None:
        await self.session.flush()

    async def lock(self, keys: Sequence[str]) -> None:
        """Transaction-scoped advisory locks, taken in a stable order so that concurrent callers cannot deadlock."""
        for key in sorted(set(keys)):
            await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def audit(
        self,
        actor: Principal | str,
        action: str,
        record_type: str,
        ids: Sequence[Any],
        purpose: str | None = None,
    ) -> None:
        await record_access(
            self.session,
            platform,
            actor=actor,
            action=action,
            record_type=record_type,
            record_ids=ids,
            purpose=purpose,
        )

    async def publish(self, type_: str, subject: uuid.UUID, data: dict[str, Any]) -> None:
        await publish(self.session, platform, source=EVENT_SOURCE, type=type_, subject=str(subject), data=data)
