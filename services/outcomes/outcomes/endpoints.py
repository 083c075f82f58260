"""Thin HTTP handlers of the outcomes service; the rules are in `service.py`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from outcomes import service
from outcomes.config import Settings
from outcomes.models import idempotency_keys
from outcomes.schemas import (
    AuditSampleCreate,
    AuditSampleRead,
    ClaimCreate,
    ClaimDecision,
    ClaimList,
    ClaimRead,
    EvaluationCreate,
    EvaluationRead,
    FamilyProgress,
    FrameworkList,
    FrameworkSummary,
    ImportReport,
    ObservationBatch,
    ProgressList,
)
from shared.auth import Principal, require_roles
from shared.db import ReadSessionDep, SessionDep, SessionmakerDep
from shared.errors import NotFound, UnprocessableContent, field_error
from shared.idempotency import Idempotency, idempotency

router = APIRouter(prefix="/v1")

Reader = Annotated[
    Principal, Depends(require_roles("practitioner", "hub_manager", "analyst", "auditor", "admin", "service"))
]
Analyst = Annotated[Principal, Depends(require_roles("analyst", "admin"))]
Auditor = Annotated[Principal, Depends(require_roles("auditor", "admin"))]
Idempotent = Annotated[Idempotency, Depends(idempotency(idempotency_keys))]
ClaimReader = Annotated[Principal, Depends(require_roles("auditor", "analyst", "admin", "service"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def parse_ids(raw: str, name: str, limit: int = 100) -> list[uuid.UUID]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > limit:
        raise UnprocessableContent(f"At most {limit} ids", errors=[field_error(f"#query/{name}", f"more than {limit}")])
    try:
        return [uuid.UUID(p) for p in parts]
    except ValueError as exc:
        raise UnprocessableContent(
            "The ids must be UUIDs", errors=[field_error(f"#query/{name}", "comma-separated UUIDs expected")]
        ) from exc


# --- frameworks --------------------------------------------------------------------------------------------


@router.get("/frameworks", tags=["frameworks"], summary="Every loaded framework version")
async def list_frameworks(session: SessionDep, settings: SettingsDep, principal: Reader) -> FrameworkList:
    from outcomes.repository import OutcomesRepository

    rows = await OutcomesRepository(session).list_frameworks()
    return FrameworkList(
        items=[
            FrameworkSummary(
                code=r.code,
                version=r.version,
                name=r.name,
                is_current=r.is_current,
                active=r.is_current and r.code == settings.active_framework,
                builtin=r.builtin,
                loaded_at=r.loaded_at,
            )
            for r in rows
        ]
    )


def _framework_response(request: Request, row: Any) -> Response:
    if request.headers.get("if-none-match") in (row.etag, "*", f"W/{row.etag}"):
        return Response(status_code=304, headers={"ETag": row.etag, "Cache-Control": "no-cache"})
    import orjson

    return Response(
        orjson.dumps(service.framework_document(row)),
        media_type="application/json",
        headers={"ETag": row.etag, "Cache-Control": "no-cache"},
    )


@router.get(
    "/frameworks/active",
    tags=["frameworks"],
    summary="The active framework (current version)",
    responses={304: {"description": "Not modified (If-None-Match)"}},
)
async def active_framework(request: Request, session: SessionDep, settings: SettingsDep, principal: Reader) -> Response:
    row = await service.get_framework(session, settings.active_framework)
    return _framework_response(request, row)


@router.get(
    "/frameworks/{code}",
    tags=["frameworks"],
    summary="A framework's current version, or `?version=`",
    responses={304: {"description": "Not modified (If-None-Match)"}},
)
async def get_framework(
    code: str, request: Request, session: SessionDep, principal: Reader, version: str | None = None
) -> Response:
    row = await service.get_framework(session, code, version)
    return _framework_response(request, row)


@router.post(
    "/frameworks",
    tags=["frameworks"],
    status_code=201,
    summary="Load a council's own framework version (becomes current for its code)",
)
async def load_framework(
    request: Request, session: SessionDep, principal: Admin, document: Annotated[dict[str, Any], Body()]
) -> Response:
    definition = service.validate_framework(document)
    row = await service.load_framework(session, definition, principal)
    response = _framework_response(request, row)
    response.status_code = 201
    return response


# --- observations ------------------------------------------------------------------------------------------


@router.post("/observations", tags=["observations"], summary="Load a JSON batch of observations (≤ 10,000 rows)")
async def load_observations(
    batch: ObservationBatch, session: SessionDep, settings: SettingsDep, principal: Analyst
) -> ImportReport:
    return await service.import_batch(session, settings, batch, principal)


@router.post(
    "/observations/import",
    tags=["observations"],
    summary="Import a CSV file of one kind of observation (body: text/csv, streamed into COPY)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
async def import_observations(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Analyst,
    kind: Annotated[
        str,
        Query(
            description="attendance, offence, asb, domestic_abuse_incident, employment, "
            "housing, neet or practitioner_assessment"
        ),
    ],
    source_agency: Annotated[str | None, Query(max_length=64)] = None,
) -> ImportReport:
    return await service.import_csv(
        session, settings, kind=kind, body=request.stream(), source_agency=source_agency, principal=principal
    )


# --- evaluation and progress -------------------------------------------------------------------------------


@router.post("/evaluations", tags=["evaluation"], status_code=201, summary="Evaluate one family or the cohort")
async def evaluate(
    body: EvaluationCreate,
    session: SessionDep,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    principal: Analyst,
    idempotent: Idempotent,
) -> EvaluationRead:
    return await idempotent.run(
        EvaluationRead,
        lambda: service.evaluate(
            session, settings, family_id=body.family_id, as_of=body.as_of, actor=principal.actor, sessions=sessions
        ),
    )


@router.get("/families/{family_id}/progress", tags=["evaluation"], summary="Per-need results with evidence")
async def family_progress(
    family_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Reader
) -> FamilyProgress:
    found = await service.progress(session, settings, principal, [family_id], with_evidence=True)
    if not found:
        # A family of a hub the caller does not work in gets the same 404 as an unknown id: a 403 would tell a
        # hub-scoped caller that the id exists (finding F5).
        raise NotFound(f"Family {family_id} is not enrolled")
    return found[0]


@router.get("/progress", tags=["evaluation"], summary="Per-need results of several families (batch)")
async def progress_batch(
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    family_ids: Annotated[str, Query(description="Comma-separated family ids (at most 100)")],
) -> ProgressList:
    ids = parse_ids(family_ids, "family_ids")
    return ProgressList(items=await service.progress(session, settings, principal, ids, with_evidence=False))


# --- claims ------------------------------------------------------------------------------------------------


@router.post("/claims", tags=["claims"], status_code=201, summary="Claim for a family whose every need is met")
async def create_claim(
    body: ClaimCreate, session: SessionDep, settings: SettingsDep, principal: Analyst, idempotent: Idempotent
) -> ClaimRead:
    async def create() -> ClaimRead:
        claim = await service.create_claim(
            session, settings, family_id=body.family_id, as_of=body.as_of, principal=principal
        )
        return service.claim_read(claim, with_evidence=True)

    return await idempotent.run(ClaimRead, create)


@router.get("/claims", tags=["claims"], summary="Claims, filtered")
async def list_claims(
    session: SessionDep,
    principal: ClaimReader,
    status: Annotated[str | None, Query(pattern="^(pending|validated|rejected)$")] = None,
    family_ids: Annotated[str | None, Query(description="Comma-separated family ids (at most 100)")] = None,
    hub: str | None = None,
    period: Annotated[str | None, Query(description="YYYY, YYYY-Qn or YYYY-MM (claim date)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
) -> ClaimList:
    ids = parse_ids(family_ids, "family_ids") if family_ids is not None else None
    rows, next_cursor = await service.list_claims(
        session, principal, status=status, family_ids=ids, hub=hub, period=period, cursor=cursor, limit=limit
    )
    return ClaimList(items=[service.claim_read(c) for c in rows], next_cursor=next_cursor)


@router.get(
    "/claims/export",
    tags=["claims"],
    summary="CSV of the validated claims of a period",
    response_class=PlainTextResponse,
)
async def export_claims(
    session: SessionDep,
    principal: Auditor,
    period: Annotated[str, Query(description="YYYY, YYYY-Qn or YYYY-MM")],
) -> Response:
    body = await service.export_claims(session, period, principal)
    return Response(
        body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="claims-{period}.csv"'}
    )


@router.post(
    "/claims/audit-sample",
    tags=["claims"],
    status_code=201,
    summary="Reproducible audit sample of pending claims, plus every practitioner-assessed claim",
)
async def audit_sample(
    body: AuditSampleCreate, session: SessionDep, principal: Auditor, idempotent: Idempotent
) -> AuditSampleRead:
    return await idempotent.run(AuditSampleRead, lambda: service.audit_sample(session, body, principal))


@router.get("/claims/{claim_id}", tags=["claims"], summary="A claim with its evidence snapshot")
async def get_claim(claim_id: uuid.UUID, session: SessionDep, principal: Auditor) -> ClaimRead:
    return service.claim_read(await service.get_claim(session, claim_id, principal), with_evidence=True)


@router.post("/claims/{claim_id}/decision", tags=["claims"], summary="Validate or reject a claim (auditor)")
async def decide_claim(claim_id: uuid.UUID, body: ClaimDecision, session: SessionDep, principal: Auditor) -> ClaimRead:
    return service.claim_read(await service.decide_claim(session, claim_id, body, principal))


# --- reports -----------------------------------------------------------------------------------------------


@router.get(
    "/reports/cohort",
    tags=["reports"],
    summary="Cohort report (pseudonymised counts), JSON or CSV",
    responses={
        200: {
            "description": "The report as JSON, or as CSV with `format=csv`",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def cohort_report(
    session: ReadSessionDep,
    settings: SettingsDep,
    principal: Analyst,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    report = await service.cohort_report(session, settings)
    if format == "csv":
        return Response(service.cohort_csv(report), media_type="text/csv")
    import orjson

    return Response(orjson.dumps(report), media_type="application/json")
