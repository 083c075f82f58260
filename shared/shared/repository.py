"""The base of every service's repositories: the request's session and the access log.

A service binds it to its own tables once (`class Repository(shared.repository.Repository): platform = platform`
in its `repository.py` or `kit.py`); each domain repository subclasses that binding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import record_access
from shared.auth import Principal
from shared.platform_tables import PlatformTables


class Repository:
    """A domain's queries over the request's session (which owns the transaction: nothing here commits)."""

    platform: ClassVar[PlatformTables]
    """The service's platform tables (audit log, outbox, ...), set by the service's own subclass."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def audit(
        self,
        actor: Principal | str,
        action: str,
        record_type: str,
        record_ids: Iterable[Any],
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """One access-log row per record, through `shared.audit.record_access`."""
        await record_access(
            self.session,
            self.platform,
            actor=actor,
            action=action,
            record_type=record_type,
            record_ids=record_ids,
            purpose=purpose,
            details=details,
        )
