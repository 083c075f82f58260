"""`POST /v1/admin/retention/run` for a service: the same run as `earlyhelp retention run`, in the request's
transaction. Dry run by default; `as_of` fixes the clock (today in UTC when omitted)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import ServiceUnavailable
from shared.platform_tables import PlatformTables
from shared.retention.engine import RetentionSource, run_retention
from shared.retention.schedule import ScheduleError, load_schedule
from shared.retention.tables import RetentionTables

Admin = Annotated[Principal, Depends(require_roles("admin"))]

SourcesFactory = Callable[[str], list[RetentionSource]]
"""Builds a service's sources for one run, given who runs it (the audit source records it on its checkpoint)."""


class RetentionRunRequest(BaseModel):
    dry_run: bool = Field(default=True, description="List what would go and why, change nothing")
    as_of: date | None = Field(default=None, description="The clock the schedule is applied on; today (UTC) if omitted")


def retention_admin_router(
    *, service: str, sources: SourcesFactory, tables: RetentionTables, platform: PlatformTables
) -> APIRouter:
    router = APIRouter(prefix="/v1/admin/retention", tags=["admin"])

    @router.post("/run", summary="Apply the retention schedule (dry run by default)")
    async def run(body: RetentionRunRequest, session: SessionDep, caller: Admin) -> dict[str, Any]:
        """Erase, anonymise or prune what the retention schedule says is due on `as_of`, except what a legal hold
        keeps, leaving a tombstone without personal data and an audit row for each; a dry run lists it all."""
        try:
            schedule = load_schedule()
        except (ScheduleError, OSError) as exc:
            raise ServiceUnavailable(f"the retention schedule cannot be read: {exc}") from exc
        report = await run_retention(
            session,
            service=service,
            sources=sources(caller.actor),
            schedule=schedule,
            tables=tables,
            platform=platform,
            as_of=body.as_of or datetime.now(UTC).date(),
            dry_run=body.dry_run,
            actor=caller.actor,
        )
        return report.as_dict()

    return router
