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
- what Spectral's `spectral:oas` and OWASP rulesets (`.spectral.yaml`) ask of every document and can be said
  centrally and truthfully (`_polish`): servers and contact, a description and a declared tag on every operation, an
  integer format everywhere (int32 where the bounds fit), a `maxLength` on every string whose format fixes its
  length, no unused component, and the bearer scheme's conformance to RFC 8725.
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
from shared.deprecation import DEPRECATED_SINCE, DOCS_URL, accepts_old_names
from shared.errors import PROBLEM_JSON, PROBLEM_RESPONSES, PROBLEM_SCHEMA_REF, problem_schemas
from shared.limits import RateLimiter
from shared.middleware import RequestPolicy

BEARER = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "An RS256 JWT from the council's identity provider (`Authorization: Bearer <token>`), verified as RFC8725 "
        "(JWT best current practices) asks: one algorithm per key, never `none`; issuer, audience and expiry checked"
    ),
}
CONTACT = {"name": "Early Help Platform maintainers"}
SIGNED_EVENTS = "/v1/events"
"""Signed by the sender's event secret (Standard Webhooks), not by a bearer token: 401 on a bad signature."""
CHANGES = frozenset({"post", "put", "patch", "delete"})
RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1, "maximum": 3600},
}
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": 'The client\'s rate limit (IETF draft): `"burst";q=<requests>;w=<seconds to refill>`',
        "schema": {"type": "string", "maxLength": 100, "pattern": '^"burst";q=\\d+;w=\\d+$'},
    },
    "RateLimit": {
        "description": 'What is left of it: `"burst";r=<requests left>;t=<seconds until full>`',
        "schema": {"type": "string", "maxLength": 100, "pattern": '^"burst";r=\\d+;t=\\d+$'},
    },
}
"""Sent on every answer the rate limiter (`shared.limits.RateLimiter`) lets through."""
DEPRECATION_HEADERS = {
    "Deprecation": {
        "description": (
            'RFC 9745: the request used a deprecated name or form (docs/contracts.md, "Deprecated names"); when '
            f"they were deprecated, `@<seconds since the epoch>` (`@{int(DEPRECATED_SINCE.timestamp())}`)"
        ),
        "schema": {"type": "string", "maxLength": 20, "pattern": "^@\\d+$"},
    },
    "Link": {
        "description": (
            "With `Deprecation`: where the old names and their replacements are listed, "
            f'`<{DOCS_URL}>; rel="deprecation"; type="text/html"`'
        ),
        "schema": {"type": "string", "maxLength": 500},
    },
}
"""Components (`#/components/headers`) sent on the answers of operations whose request body accepts an old name
(`shared.deprecation.AcceptsOldNames`) when the request used one (`shared.middleware.PlatformMiddleware`)."""
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
    policy = _request_policy(app)
    limits = _Limits(rate=policy.rate is not None, time=policy.time is not None)
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
            limited = limits.rate and not template.startswith(RateLimiter.EXEMPT)
            if route.body_field is not None and accepts_old_names(route.body_field.field_info.annotation):
                _declare_deprecation(components, responses)
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _as_problem(int(status), response)
                if limited and status[:1] in ("2", "4"):
                    response.setdefault("headers", {}).update(RATE_LIMIT_HEADERS)
    _polish(schema)


def _declare_deprecation(components: dict[str, Any], responses: dict[str, Any]) -> None:
    """The `Deprecation` and `Link` headers (referenced components) on every answer of an operation whose body
    accepts an old name: the middleware adds them to whatever answer a request using one gets."""
    components.setdefault("headers", {}).update(copy.deepcopy(DEPRECATION_HEADERS))
    for response in responses.values():
        headers = response.setdefault("headers", {})
        for name in DEPRECATION_HEADERS:
            headers[name] = {"$ref": f"#/components/headers/{name}"}


def _request_policy(app: FastAPI) -> RequestPolicy:
    """The limits the app's `PlatformMiddleware` enforces (none when it has none)."""
    for middleware in app.user_middleware:
        policy = middleware.kwargs.get("policy")
        if isinstance(policy, RequestPolicy):
            return policy
    return RequestPolicy()


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
    if limits.rate and template not in RateLimiter.EXEMPT:
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


SERVER = {
    "url": "/",
    "description": "This deployment — development, staging or production — wherever this document is served",
    "x-internal": False,
}
PROBLEM_BOUNDS = {
    "Problem": {"type": 2083, "title": 200, "status": 599, "detail": 4000, "instance": 2083, "request_id": 128,
                "errors": 1000},
    "FieldProblem": {"pointer": 1000, "detail": 1000, "code": 100},
}  # fmt: skip
INT32 = 2**31 - 1
FORMAT_LENGTH = {"uuid": 36, "date": 10, "date-time": 64, "time": 32, "email": 320, "uri": 2083, "duration": 64}
"""The longest valid text of each string format (a date-time with nanoseconds and an offset fits in 64)."""


def _polish(schema: dict[str, Any]) -> None:
    info = schema.setdefault("info", {})
    info.setdefault("contact", dict(CONTACT))
    schema.setdefault("servers", [SERVER])
    _bound_problems(schema.get("components", {}).get("schemas", {}))
    used_tags: dict[str, None] = {}
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if not operation.get("tags"):
                operation["tags"] = [_tag_of(path)]
            used_tags.update(dict.fromkeys(operation["tags"]))
            if not operation.get("description"):
                operation["description"] = operation.get("summary") or f"{path}"
    declared = {t["name"] for t in schema.get("tags", [])}
    schema.setdefault("tags", []).extend(
        {"name": t, "description": f"Operations on {t}"} for t in used_tags if t not in declared
    )
    _bound_formats(schema)
    _drop_unused_components(schema)


def _bound_problems(schemas: dict[str, Any]) -> None:
    """The bounds of the problem+json this platform writes (its own short texts, one entry per invalid field)."""
    for name, lengths in PROBLEM_BOUNDS.items():
        properties = schemas.get(name, {}).get("properties", {})
        for field, length in lengths.items():
            for variant in [properties.get(field, {}), *properties.get(field, {}).get("anyOf", [])]:
                if variant.get("type") == "string":
                    variant.setdefault("maxLength", length)
                if variant.get("type") == "array":
                    variant.setdefault("maxItems", length)
                if variant.get("type") == "integer":
                    variant.setdefault("minimum", 400)
                    variant.setdefault("maximum", 599)


def _tag_of(path: str) -> str:
    words = [w for w in path.strip("/").split("/") if w and w != "v1" and not w.startswith("{")]
    return words[0] if words else "service"


def _bound_formats(node: Any) -> None:
    """Integers get a format (int32 when their bounds fit, else int64); strings whose format fixes their length
    get that length as `maxLength` (a longer value is not valid for the format, so the server refuses it)."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            low, high = node.get("minimum", -INT32 - 1), node.get("maximum", INT32 + 1)
            node["format"] = "int32" if low >= -INT32 - 1 and high <= INT32 else "int64"
        if node.get("type") == "string" and node.get("format") in FORMAT_LENGTH and "maxLength" not in node:
            node["maxLength"] = FORMAT_LENGTH[node["format"]]
        for key in ("maxLength", "pattern"):  # `Header(json_schema_extra=...)` of an optional str: onto the str
            if key in node and "anyOf" in node:
                for variant in node["anyOf"]:
                    if variant.get("type") == "string":
                        variant.setdefault(key, node[key])
        for value in node.values():
            _bound_formats(value)
    elif isinstance(node, list):
        for value in node:
            _bound_formats(value)


def _drop_unused_components(schema: dict[str, Any]) -> None:
    """FastAPI's `HTTPValidationError` and `ValidationError` stay in the components when every 422 is a Problem."""
    schemas = schema.get("components", {}).get("schemas", {})
    outside = {k: v for k, v in schema.items() if k != "components"}
    outside["other_components"] = {k: v for k, v in schema.get("components", {}).items() if k != "schemas"}
    reachable: set[str] = set()
    frontier = _refs(outside)
    while frontier:
        name = frontier.pop()
        if name in reachable or name not in schemas:
            continue
        reachable.add(name)
        frontier |= _refs(schemas[name])
    for name in [n for n in schemas if n not in reachable]:
        del schemas[name]


def _refs(node: Any) -> set[str]:
    prefix = "#/components/schemas/"
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref[len(prefix) :])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found
