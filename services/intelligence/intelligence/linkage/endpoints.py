"""Thin HTTP handlers of linkage runs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from intelligence.deps import Analyst, LinkageServiceDep
from intelligence.linkage.report import render
from intelligence.linkage.schemas import LinkageRunDetail, LinkageRunSummary
from shared.fields import DOCUMENT_LENGTH

router = APIRouter(prefix="/v1")


@router.post(
    "/linkage-runs",
    tags=["linkage"],
    status_code=201,
    summary="Link every partner record into people and households, and identify families (no one is contacted)",
)
async def run_linkage(
    linkage: LinkageServiceDep,
    principal: Analyst,
    as_of: Annotated[
        date | None, Query(description="Needs as at this date (incidents and statuses in the window before it)")
    ] = None,
) -> LinkageRunSummary:
    return await linkage.run(principal, today=as_of)


@router.get("/linkage-runs/{run_id}", tags=["linkage"], summary="A linkage run: its model (m, u) and diagnostics")
async def get_linkage_run(run_id: uuid.UUID, linkage: LinkageServiceDep, principal: Analyst) -> LinkageRunDetail:
    return await linkage.get(run_id)


@router.get(
    "/linkage-runs/{run_id}/report",
    tags=["linkage"],
    response_class=HTMLResponse,
    openapi_extra={
        "responses": {"200": {"content": {"text/html": {"schema": {"type": "string", "maxLength": DOCUMENT_LENGTH}}}}}
    },
    summary="A linkage run's model as an HTML page: match weight chart, m and u, diagnostics",
)
async def linkage_run_report(run_id: uuid.UUID, linkage: LinkageServiceDep, principal: Analyst) -> HTMLResponse:
    run = await linkage.get(run_id)
    return HTMLResponse(render(run.model_dump(mode="json")))
