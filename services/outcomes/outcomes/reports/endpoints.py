"""Thin HTTP handlers of reports."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from outcomes.deps import Analyst, ReportsServiceDep
from outcomes.reports.service import cohort_csv
from shared.fields import DOCUMENT_LENGTH

router = APIRouter(prefix="/v1")


@router.get(
    "/reports/cohort",
    tags=["reports"],
    summary="Cohort report (pseudonymised counts), JSON or CSV",
    responses={
        200: {
            "description": "The report as JSON, or as CSV with `format=csv`",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string", "maxLength": DOCUMENT_LENGTH}},
            },
        }
    },
)
async def cohort_report(
    reports: ReportsServiceDep,
    principal: Analyst,
    format: Annotated[str, Query(max_length=4, pattern="^(json|csv)$")] = "json",
) -> Response:
    report = await reports.cohort_report()
    if format == "csv":
        return Response(cohort_csv(report), media_type="text/csv")
    return Response(orjson.dumps(report), media_type="application/json")
