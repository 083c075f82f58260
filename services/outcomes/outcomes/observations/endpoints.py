"""Thin HTTP handlers of observation loading."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from outcomes.deps import Analyst, ObservationsServiceDep
from outcomes.observations.schemas import ImportReport, ObservationBatch
from shared.fields import CODE_LENGTH, DOCUMENT_LENGTH

router = APIRouter(prefix="/v1")


@router.post("/observations", tags=["observations"], summary="Load a JSON batch of observations (≤ 10,000 rows)")
async def load_observations(
    batch: ObservationBatch, observations: ObservationsServiceDep, principal: Analyst
) -> ImportReport:
    return await observations.import_batch(batch, principal)


@router.post(
    "/observations/import",
    tags=["observations"],
    summary="Import a CSV file of one kind of observation (body: text/csv, streamed into COPY)",
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string", "maxLength": DOCUMENT_LENGTH}}},
            "required": True,
        }
    },
)
async def import_observations(
    request: Request,
    observations: ObservationsServiceDep,
    principal: Analyst,
    kind: Annotated[
        str,
        Query(
            max_length=CODE_LENGTH,
            description="attendance, offence, asb, domestic_abuse_incident, employment, "
            "housing, neet, financial or practitioner_assessment",
        ),
    ],
    source_agency: Annotated[str | None, Query(max_length=64)] = None,
) -> ImportReport:
    return await observations.import_csv(
        kind=kind, body=request.stream(), source_agency=source_agency, principal=principal
    )
