"""What every repository of the intelligence service shares: the request's session and the access log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intelligence.models import platform
from shared.audit import record_access
from shared.auth import Principal


class Repository:
    """A domain's queries over the request's session (which owns the transaction: nothing here commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def audit(
        self,
        actor: Principal | str,
        action: str,
        record_type: str,
        record_ids: Iterable[Any],
        purpose: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """One access-log row per record, through `shared.audit.record_access`."""
        await record_access(
            self.session,
            platform,
            actor=actor,
            action=action,
            record_type=record_type,
            record_ids=record_ids,
            purpose=purpose,
            details=details,
        )
