"""Thin HTTP handlers of frameworks: the list, one version, the active framework (with its ETag), loading."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Query, Request, Response

from outcomes.deps import Admin, FrameworksServiceDep, Reader
from outcomes.frameworks.schemas import ActiveFrameworkSet, ActiveFrameworkState, FrameworkList
from outcomes.models import Framework
from shared.fields import CODE_LENGTH

router = APIRouter(prefix="/v1")


@router.get("/frameworks", tags=["frameworks"], summary="Every loaded framework version")
async def list_frameworks(frameworks: FrameworksServiceDep, principal: Reader) -> FrameworkList:
    return await frameworks.list_frameworks()


def _framework_response(request: Request, row: Framework) -> Response:
    if request.headers.get("if-none-match") in (row.etag, "*", f"W/{row.etag}"):
        return Response(status_code=304, headers={"ETag": row.etag, "Cache-Control": "no-cache"})
    return Response(
        orjson.dumps(dict(row.definition)),
        media_type="application/json",
        headers={"ETag": row.etag, "Cache-Control": "no-cache"},
    )


@router.get(
    "/frameworks/active",
    tags=["frameworks"],
    summary="The active framework (current version)",
    responses={304: {"description": "Not modified (If-None-Match)"}},
)
async def active_framework(request: Request, frameworks: FrameworksServiceDep, principal: Reader) -> Response:
    return _framework_response(request, await frameworks.active())


@router.put(
    "/frameworks/active",
    tags=["frameworks"],
    summary="Change the active framework from a date (admin, audited; enrolled families keep their version)",
)
async def set_active_framework(
    body: ActiveFrameworkSet, frameworks: FrameworksServiceDep, principal: Admin
) -> ActiveFrameworkState:
    return await frameworks.set_active(body, principal)


@router.get(
    "/frameworks/active/changes",
    tags=["frameworks"],
    summary="The framework active today and every change of it (the schedule and its audit trail)",
)
async def active_framework_changes(frameworks: FrameworksServiceDep, principal: Reader) -> ActiveFrameworkState:
    return await frameworks.active_state()


@router.get(
    "/frameworks/{code}",
    tags=["frameworks"],
    summary="A framework's current version, or `?version=`",
    responses={304: {"description": "Not modified (If-None-Match)"}},
)
async def get_framework(
    code: Annotated[str, Path(max_length=CODE_LENGTH)],
    request: Request,
    frameworks: FrameworksServiceDep,
    principal: Reader,
    version: Annotated[str | None, Query(max_length=CODE_LENGTH)] = None,
) -> Response:
    return _framework_response(request, await frameworks.get(code, version))


@router.post(
    "/frameworks",
    tags=["frameworks"],
    status_code=201,
    summary="Load a council's own framework version (becomes current for its code)",
)
async def load_framework(
    request: Request,
    frameworks: FrameworksServiceDep,
    principal: Admin,
    document: Annotated[dict[str, Any], Body()],
) -> Response:
    response = _framework_response(request, await frameworks.load(document, principal))
    response.status_code = 201
    return response
