"""Thin HTTP handlers of claims."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from outcomes.claims.schemas import (
    AuditSampleCreate,
    AuditSampleRead,
    ClaimCreate,
    ClaimDecision,
    ClaimList,
    ClaimRead,
    parse_period,
)
from outcomes.claims.service import claim_read
from outcomes.deps import Analyst, Auditor, ClaimReader, ClaimsServiceDep, Idempotent
from shared.fields import CURSOR_LENGTH, DOCUMENT_LENGTH, IDS_LENGTH, NAME_LENGTH
from shared.ids import parse_ids
from shared.pagination import AFTER, BEFORE, FROM_END, Window, aware_datetime

router = APIRouter(prefix="/v1")
CSV_EXPORT = {
    "responses": {"200": {"content": {"text/plain": {"schema": {"type": "string", "maxLength": DOCUMENT_LENGTH}}}}}
}
"""The export is a document: its length is bounded like every string of the API."""


@router.post("/claims", tags=["claims"], status_code=201, summary="Claim for a family whose every need is met")
async def create_claim(
    body: ClaimCreate, claims: ClaimsServiceDep, principal: Analyst, idempotent: Idempotent
) -> ClaimRead:
    async def create() -> ClaimRead:
        claim = await claims.create(family_id=body.family_id, as_of=body.as_of, principal=principal)
        return claim_read(claim, with_evidence=True)

    return await idempotent.run(ClaimRead, create)


@router.get("/claims", tags=["claims"], summary="Claims, filtered")
async def list_claims(
    claims: ClaimsServiceDep,
    principal: ClaimReader,
    status: Annotated[str | None, Query(max_length=9, pattern="^(pending|validated|rejected)$")] = None,
    family_ids: Annotated[
        str | None, Query(max_length=IDS_LENGTH, description="Comma-separated family ids (at most 100)")
    ] = None,
    hub: Annotated[str | None, Query(max_length=NAME_LENGTH)] = None,
    period: Annotated[str | None, Query(max_length=7, description="YYYY, YYYY-Qn or YYYY-MM (claim date)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=AFTER)] = None,
    before: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=BEFORE)] = None,
    from_end: Annotated[bool, Query(description=FROM_END)] = False,
) -> ClaimList:
    ids = parse_ids(family_ids, "family_ids") if family_ids is not None else None
    window = Window.of(limit=limit, after=cursor, before=before, from_end=from_end, parsers=(aware_datetime, uuid.UUID))
    page = await claims.list_claims(
        principal,
        status=status,
        family_ids=ids,
        hub=hub,
        period=parse_period(period) if period else None,
        window=window,
    )
    return ClaimList(items=[claim_read(c) for c in page.rows], **page.links(lambda c: (c.created_at, c.id)))


@router.get(
    "/claims/export",
    tags=["claims"],
    summary="CSV of the validated claims of a period",
    response_class=PlainTextResponse,
    openapi_extra=CSV_EXPORT,
)
async def export_claims(
    claims: ClaimsServiceDep,
    principal: Auditor,
    period: Annotated[str, Query(max_length=7, description="YYYY, YYYY-Qn or YYYY-MM")],
) -> Response:
    validated = parse_period(period)
    body = await claims.export(validated, principal)
    # The file name is built from the parsed period's own ASCII text, never from the raw parameter.
    disposition = f'attachment; filename="claims-{validated.label}.csv"'
    return Response(body, media_type="text/csv", headers={"Content-Disposition": disposition})


@router.post(
    "/claims/audit-sample",
    tags=["claims"],
    status_code=201,
    summary="Reproducible audit sample of pending claims, plus every practitioner-assessed claim",
)
async def audit_sample(
    body: AuditSampleCreate, claims: ClaimsServiceDep, principal: Auditor, idempotent: Idempotent
) -> AuditSampleRead:
    return await idempotent.run(AuditSampleRead, lambda: claims.audit_sample(body, principal))


@router.get("/claims/{claim_id}", tags=["claims"], summary="A claim with its evidence snapshot")
async def get_claim(claim_id: uuid.UUID, claims: ClaimsServiceDep, principal: Auditor) -> ClaimRead:
    return claim_read(await claims.get(claim_id, principal), with_evidence=True)


@router.post("/claims/{claim_id}/decision", tags=["claims"], summary="Validate or reject a claim (auditor)")
async def decide_claim(
    claim_id: uuid.UUID, body: ClaimDecision, claims: ClaimsServiceDep, principal: Auditor
) -> ClaimRead:
    return claim_read(await claims.decide(claim_id, body, principal))
