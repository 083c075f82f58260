"""What each OpenAPI operation really answers: who may call it (bearer JWT) and which problem+json errors it can give.

FastAPI documents the success response and the body's validation; this module completes every operation of an app
from what its route and the app's middleware do, so that a partner's code generator or API gateway reads the truth:
- `security`: the `bearerAuth` scheme (HTTP bearer, JWT) on every operation whose dependencies verify a token
  (`shared.auth.get_principal`), optional on the paths named `optional_auth`; none on health, events and docs;
- responses: 401 and 403 where a token is verified; 404 where the path names a resource; 422 where there are
  parameters or a body; 413 where there is a body; 409 on authenticated changes; 412 and 428 where `If-Match` is
  read; 400 where `Idempotency-Key` is read; 400 and 401 on the signed `/v1/events`; 429 (with `Retry-After`)
  where the rate limiter applies; 503 where the request time limit applies and on `/readyz`; 500 everywhere.
  Each is problem+json, `#/components/schemas/Problem`.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from shared.auth import get_principal
from shared.errors import PROBLEM_JSON, PROBLEM_RESPONSES, PROBLEM_SCHEMA_REF, problem_schemas
from shared.limits import RateLimitMiddleware, RequestTimeoutMiddleware

BEARER = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An RS256 JWT from the council's identity provider (`Authorization: Bearer <token>`)",
}
SIGNED_EVENTS = "/v1/events"
"""Signed by the sender's event secret (Standard Webhooks), not by a bearer token: 401 on a bad signature."""
CHANGES = frozenset({"post", "put", "patch", "delete"})
RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1, "maximum": 3600},
}
WWW_AUTHENTICATE = {
    "description": 'The bearer challenge (`Bearer error="invalid_token"`)',
    "schema": {"type": "string", "maxLength": 200},
}


@dataclass(frozen=True)
class _Limits:
    rate: bool
    """The app's rate limiter answers 429 (outside its exempt paths)."""
    time: bool
    """The app's request time limit answers 503."""


def document_openapi(app: FastAPI, *, optional_auth: Collection[str] = ()) -> None:
    """Complete `app.openapi()` with security and problem responses (computed once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        complete(schema, app, optional_auth)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any], app: FastAPI, optional_auth: Collection[str] = ()) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(problem_schemas())
    components.setdefault("securitySchemes", {})[BEARER] = dict(BEARER_SCHEME)
    middleware: set[Any] = {m.cls for m in app.user_middleware}
    limits = _Limits(rate=RateLimitMiddleware in middleware, time=RequestTimeoutMiddleware in middleware)
    paths = schema.get("paths", {})
    # Included routers stay nested in `app.routes`: their route contexts carry the full path and dependencies.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        template: str = route.path_format or ""
        dependant: Dependant = route.dependant
        for method in sorted(route.methods or ()):
            operation = paths.get(template, {}).get(method.lower())
            if operation is None:
                continue
            authenticated = _verifies_token(dependant)
            if authenticated:
                operation["security"] = [{BEARER: []}]
            elif template in optional_auth:
                operation["security"] = [{BEARER: []}, {}]
            has_body = route.body_field is not None or method.lower() in ("post", "put", "patch")
            statuses = _statuses(template, dependant, method.lower(), has_body, authenticated, limits)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(str(status), _response(status))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _as_problem(int(status), response)


def _statuses(
    template: str,
    dependant: Dependant,
    method: str,
    has_body: bool,
    authenticated: bool,
    limits: _Limits,
) -> set[int]:
    path, query, header, cookie = _parameters(dependant)
    headers = {name.lower().replace("_", "-") for name in header}
    statuses = {500}
    if authenticated:
        statuses |= {401, 403}
        if method in CHANGES:
            statuses.add(409)
    if path:
        statuses.add(404)
    if path or query or header or cookie or has_body:
        statuses.add(422)
    if has_body:
        statuses.add(413)
    if "if-match" in headers:
        statuses |= {412, 428}
    if template == SIGNED_EVENTS:
        statuses |= {400, 401}
    if "idempotency-key" in headers:
        statuses.add(400)
    if limits.rate and template not in RateLimitMiddleware.EXEMPT:
        statuses.add(429)
    if limits.time or template.endswith("/readyz"):
        statuses.add(503)
    return statuses


def _parameters(dependant: Dependant) -> tuple[set[str], set[str], set[str], set[str]]:
    """The names of the path, query, header and cookie parameters the route and its dependencies read."""
    found: tuple[set[str], set[str], set[str], set[str]] = (set(), set(), set(), set())
    kinds = (dependant.path_params, dependant.query_params, dependant.header_params, dependant.cookie_params)
    for names, fields in zip(found, kinds, strict=True):
        names.update(str(f.alias) for f in fields)
    for sub in dependant.dependencies:
        for names, more in zip(found, _parameters(sub), strict=True):
            names.update(more)
    return found


def _verifies_token(dependant: Dependant) -> bool:
    return any(d.call is get_principal or _verifies_token(d) for d in dependant.dependencies)


def _response(status: int) -> dict[str, Any]:
    documented = {k: v for k, v in PROBLEM_RESPONSES[status].items() if k != "model"}
    return copy.deepcopy(documented)


def _as_problem(status: int, response: dict[str, Any]) -> None:
    """An error response is problem+json (a route's own media type other than JSON — FHIR's — is kept)."""
    content = response.get("content") or {}
    if not set(content) - {"application/json", PROBLEM_JSON}:
        response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}
    if status in PROBLEM_RESPONSES and not response.get("description"):
        response["description"] = PROBLEM_RESPONSES[status]["description"]
    headers = response.setdefault("headers", {})
    if status in (429, 503):
        headers.setdefault("Retry-After", RETRY_AFTER)
    if status == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    if not headers:
        del response["headers"]
