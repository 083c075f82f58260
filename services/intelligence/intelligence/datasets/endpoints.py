"""Thin HTTP handlers of partner dataset imports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from intelligence.datasets.schemas import DatasetSummary, ImportReport
from intelligence.datasets.service import check_protection, kind_of
from intelligence.deps import Analyst, DatasetsServiceDep
from shared.fields import CODE_LENGTH, DOCUMENT_LENGTH, MANY

router = APIRouter(prefix="/v1")


@router.post(
    "/datasets",
    tags=["datasets"],
    summary="Import a partner dataset (body: text/csv, streamed); the same file again changes nothing",
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string", "maxLength": DOCUMENT_LENGTH}}},
            "required": True,
        }
    },
)
async def import_dataset(
    request: Request,
    datasets: DatasetsServiceDep,
    principal: Analyst,
    kind: Annotated[
        str,
        Query(
            max_length=CODE_LENGTH,
            description="school_census, police_incident, housing, worklessness, health, neet or social_care",
        ),
    ],
    source_agency: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
    sharing_agreement: Annotated[
        str, Query(min_length=1, max_length=100, description="The data sharing agreement's reference")
    ],
    lawful_basis: Annotated[str, Query(max_length=CODE_LENGTH, description="UK GDPR Article 6 basis")] = "6(1)(e)",
    special_category_condition: Annotated[
        str | None,
        Query(max_length=CODE_LENGTH, description="UK GDPR Article 9(2) condition: required for health data"),
    ] = None,
    retention_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> ImportReport:
    dataset_kind = kind_of(kind)
    check_protection(dataset_kind, principal, lawful_basis, special_category_condition)
    return await datasets.import_csv(
        kind=dataset_kind,
        body=request.stream(),
        source_agency=source_agency,
        sharing_agreement=sharing_agreement,
        lawful_basis=lawful_basis,
        special_category_condition=special_category_condition,
        retention_days=retention_days,
        principal=principal,
    )


@router.get("/datasets", tags=["datasets"], summary="The datasets held: records, imports, retention")
async def list_datasets(
    datasets: DatasetsServiceDep, principal: Analyst
) -> Annotated[list[DatasetSummary], Field(max_length=MANY)]:
    return await datasets.summary()
