"""`GET /reports/cohort` and `GET /reports/need-profile`: the data team's reports through the gateway, as HTML
(default) or JSON.

The caller's token is checked here (analyst or admin, as the outcomes service's own `GET /v1/reports/cohort` and
the intelligence service's `GET /v1/need-profile`) and forwarded to every service, which checks it again and
audits its own reads; the gateway keeps nothing. Upstream failures become 503 (unreachable, or answering
503/504) or 502 (any other error) problem+json.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway.clients import Caller, Services, Upstreams
from gateway.errors import UpstreamError
from gateway.reports.cohort import collect
from gateway.reports.need_profile import build_need_profile_html
from gateway.reports.render import CONTENT_SECURITY_POLICY, build_html
from shared.auth import Principal, require_roles
from shared.errors import (
    PROBLEM_JSON,
    PROBLEM_RESPONSES,
    PROBLEM_SCHEMA_REF,
    Forbidden,
    Problem,
    ProblemError,
    ServiceUnavailable,
    Unauthorized,
)
from shared.fields import DOCUMENT_LENGTH
from shared.logging import current_request_id

REPORT_ROLES = ("analyst", "admin")
NO_STORE = {"Cache-Control": "no-store"}
SECURITY_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY + "; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept",
}

router = APIRouter(tags=["reports"])


class BadGateway(ProblemError):
    status, title, slug = 502, "Bad gateway", "bad-gateway"


def problem_for(exc: UpstreamError) -> ProblemError:
    """The problem the report's caller sees for an upstream failure: never a 500."""
    extra: dict[str, Any] = {"service": exc.service, "headers": dict(NO_STORE)}
    if exc.status == 401:
        extra["headers"]["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return Unauthorized(exc.detail, **extra)
    if exc.status == 403:
        return Forbidden(exc.detail, **extra)
    if exc.status is None or exc.status in (503, 504):
        return ServiceUnavailable(f"The {exc.service} service is unavailable; try again shortly", **extra)
    return BadGateway(f"The {exc.service} service answered {exc.status}", **extra)


def _wants_json(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def report_responses() -> dict[int | str, dict[str, Any]]:
    """The documented answers of a report route (a fresh dict each: the OpenAPI completion edits it in place)."""
    return {
        200: {
            "description": "The report as HTML, or its aggregated data as JSON with `format=json` "
            "(or `Accept: application/json`)",
            "content": {
                "text/html": {"schema": {"type": "string", "maxLength": DOCUMENT_LENGTH}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        **{status: PROBLEM_RESPONSES[status] for status in (401, 403, 422, 503)},
        502: {
            "description": "A service answered with an unexpected error",
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        },
    }


@router.get(
    "/reports/cohort",
    summary="The cohort report: offline HTML with inline SVG charts, or its data as JSON",
    responses=report_responses(),
)
async def cohort_report(
    request: Request,
    _: Annotated[Principal, Depends(require_roles(*REPORT_ROLES))],
    format: Annotated[Literal["html", "json"] | None, Query(description="`html` (default) or `json`")] = None,
) -> Response:
    upstreams: Upstreams = request.app.state.upstreams
    services = Services.bind(upstreams, Caller.from_headers(request.headers, current_request_id()))
    try:
        data = await collect(services.outcomes, services.referrals)
    except UpstreamError as exc:
        raise problem_for(exc) from exc
    if _wants_json(request, format):
        return JSONResponse(data.to_json(), headers=SECURITY_HEADERS)
    return HTMLResponse(build_html(data), headers=SECURITY_HEADERS)


@router.get(
    "/reports/need-profile",
    summary="The commissioning need profile: offline HTML with inline SVG charts, or its data as JSON (counts only)",
    responses=report_responses(),
)
async def need_profile_report(
    request: Request,
    _: Annotated[Principal, Depends(require_roles(*REPORT_ROLES))],
    format: Annotated[Literal["html", "json"] | None, Query(description="`html` (default) or `json`")] = None,
    hub: Annotated[str | None, Query(max_length=64, description="One hub only")] = None,
    postcode_district: Annotated[str | None, Query(max_length=8, description="One postcode district only")] = None,
) -> Response:
    upstreams: Upstreams = request.app.state.upstreams
    services = Services.bind(upstreams, Caller.from_headers(request.headers, current_request_id()))
    try:
        profile = await services.intelligence.need_profile(hub=hub, postcode_district=postcode_district)
    except UpstreamError as exc:
        raise problem_for(exc) from exc
    data = profile.model_dump(mode="json")
    if _wants_json(request, format):
        return JSONResponse(data, headers=SECURITY_HEADERS)
    return HTMLResponse(build_need_profile_html(data), headers=SECURITY_HEADERS)
