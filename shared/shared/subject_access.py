"""What every service's subject access export shares: JSON for ORM rows, the access-log rows about the
exported records, the validated identifiers and the admin route. Each service's own `subject_access.py`
decides what it holds about a person (`export_subject`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import UnprocessableContent, field_error
from shared.identifiers import UPN, NHSNumber
from shared.platform_tables import PlatformTables

PURPOSE = "subject access request"
Exporter = Callable[..., Awaitable[dict[str, Any]]]


def to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def row_json(obj: object, leave_out: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """An ORM row's column values, JSON-ready (relationships are not touched)."""
    return {
        attr.key: to_json(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in leave_out
    }


async def access_log(session: AsyncSession, tables: PlatformTables, record_ids: list[str]) -> list[dict[str, Any]]:
    """The access-log rows about these records, oldest first (hashes left out: they are not personal data)."""
    if not record_ids:
        return []
    log = tables.audit_log
    rows = await session.execute(
        select(
            log.c.seq,
            log.c.occurred_at,
            log.c.actor,
            log.c.action,
            log.c.record_type,
            log.c.record_id,
            log.c.purpose,
        )
        .where(log.c.record_id.in_(record_ids))
        .order_by(log.c.seq)
    )
    return [{key: to_json(value) for key, value in row._mapping.items()} for row in rows]


def identifiers(
    nhs_number: Annotated[NHSNumber | None, Query(description="The person's NHS number")] = None,
    upn: Annotated[UPN | None, Query(description="The person's Unique Pupil Number")] = None,
) -> tuple[str | None, str | None]:
    """The subject's identifiers, validated; at least one is required."""
    if nhs_number is None and upn is None:
        raise UnprocessableContent(
            "give the subject's NHS number or UPN",
            errors=[field_error("#query/nhs_number", "an NHS number or a UPN is required", "missing")],
        )
    return nhs_number, upn


def subject_access_router(export_subject: Exporter) -> APIRouter:
    """`GET /v1/admin/subject-access?nhs_number=…&upn=…` (admin only) over a service's `export_subject`."""
    router = APIRouter(tags=["subject access"])

    @router.get("/v1/admin/subject-access", summary="Export everything held about one person (admin only)")
    async def subject_access(
        session: SessionDep,
        principal: Annotated[Principal, Depends(require_roles("admin"))],
        subject: Annotated[tuple[str | None, str | None], Depends(identifiers)],
    ) -> dict[str, Any]:
        nhs_number, upn = subject
        return await export_subject(session, nhs_number=nhs_number, upn=upn, actor=principal)

    return router
