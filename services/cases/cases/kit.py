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

from cases.models import platform
from shared import repository
from shared.events import publish

EVENT_SOURCE = "urn:earlyhelp:cases"


def today() -> date:
    return datetime.now(UTC).date()


class Repository(repository.Repository):
    """The base of every domain repository; methods take domain arguments, the request owns the transaction."""

    platform = platform

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

    async def publish(self, type_: str, subject: uuid.UUID, data: dict[str, Any]) -> None:
        await publish(self.session, platform, source=EVENT_SOURCE, type=type_, subject=str(subject), data=data)
