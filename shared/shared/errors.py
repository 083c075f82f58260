"""One error base that carries its status; one set of handlers that render RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import current_request_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://earlyhelp.invalid/problems/"
log = structlog.get_logger("shared.errors")


class ProblemError(Exception):
    """Base for every error a client should see. Subclasses set `status`, `title` and `slug`."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extensions)
        return body


class BadRequest(ProblemError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(ProblemError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str = "A valid bearer token is required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kw)


class Forbidden(ProblemError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ProblemError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ProblemError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ProblemError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(ProblemError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class PayloadTooLarge(ProblemError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnprocessableContent(ProblemError):
    """Payload validation failures; `errors` lists each field as a JSON pointer."""

    status, title, slug = 422, "Validation failed", "validation"


class TooManyRequests(ProblemError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailable(ProblemError):
    status, title, slug = 503, "Service unavailable", "unavailable"


class FieldProblem(BaseModel):
    pointer: str = Field(description="JSON pointer to the offending field (`#query/…` for query parameters)")
    detail: str
    code: str


class Problem(BaseModel):
    """An RFC 9457 problem; services may add extension members (e.g. `existing_id`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(default=None, description="Each invalid field, for 422")
    request_id: str | None = None


PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"
"""Where every OpenAPI document keeps the problem schema (FieldProblem beside it), registered by FastAPI from the
`model` of each documented response (and by `shared.openapi.document_openapi`)."""


def problem_schemas() -> dict[str, dict[str, Any]]:
    """`Problem` and the models it nests, as OpenAPI components whose `$ref`s point at one another."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    nested: dict[str, dict[str, Any]] = schema.pop("$defs", {})
    return {"Problem": schema, **nested}


def _documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": Problem,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request (e.g. a missing Idempotency-Key)"),
    401: _documented("No valid bearer token"),
    403: _documented("The caller's role may not do this"),
    404: _documented("No such resource, or not one the caller may see"),
    409: _documented("Conflicts with the resource's current state"),
    412: _documented("`If-Match` names a version that is no longer current: reload and retry"),
    413: _documented("The body is larger than the limit"),
    422: _documented("Validation failed: `errors` points at each field"),
    428: _documented("The operation needs an `If-Match` header with the current ETag"),
    429: _documented("Rate limit exceeded: retry after `Retry-After` seconds"),
    500: _documented("An unexpected error: quote the `request_id` when reporting it"),
    503: _documented("The database or a dependency is unavailable, or the request took too long: retry shortly"),
}
"""Each error status an operation may answer, as problem+json; `shared.openapi` chooses which apply where."""


def field_error(pointer: str, message: str, code: str = "invalid") -> dict[str, Any]:
    return {"pointer": pointer, "detail": message, "code": code}


def json_pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    """Turn a pydantic `loc` into an RFC 6901 JSON pointer, dropping the `body` root."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        source = parts.pop(0)
        if source != "body":
            return f"#{source}/" + "/".join(str(p) for p in parts)
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "/" + "/".join(escaped) if escaped else ""


def problem_response(problem: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    problem.setdefault("request_id", current_request_id())
    return JSONResponse(problem, status_code=problem["status"], media_type=PROBLEM_JSON, headers=headers)


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | ConnectionError | OSError):
        return True
    if isinstance(exc, DBAPIError):
        orig = getattr(exc, "orig", None)
        cause = getattr(orig, "__cause__", None) or orig
        return isinstance(
            cause,
            (
                asyncpg.CannotConnectNowError
                | asyncpg.ConnectionDoesNotExistError
                | asyncpg.InterfaceError
                | asyncpg.TooManyConnectionsError
                | ConnectionError
                | OSError,
                asyncpg.PostgresConnectionError,
            ),
        )
    return False


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


def _malformed_json(error: Any) -> str:
    """A body that is not JSON: FastAPI's `loc` ends in a character offset, which is no JSON pointer (there is no
    field yet), so the offset goes into the words and the problem names no field."""
    loc = list(error.get("loc", ()))
    at = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
    reason = str((error.get("ctx") or {}).get("error", "")).strip()
    return f"malformed JSON{at}" + (f": {reason}" if reason else "") + " (the body must be one JSON document)"


def install_error_handlers(app: FastAPI) -> None:
    """Render every error a handler claims as problem+json (the rest: `unexpected_error_response`)."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.to_problem(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if malformed is not None:
            return problem_response(UnprocessableContent(_malformed_json(malformed)).to_problem())
        errors = [
            field_error(json_pointer(e.get("loc", ())), str(e.get("msg", "invalid")), str(e.get("type", "invalid")))
            for e in exc.errors()
        ]
        problem = UnprocessableContent(
            f"{len(errors)} field(s) failed validation: " + ", ".join(e["pointer"] or "/" for e in errors[:5]),
            errors=errors,
        ).to_problem()
        return problem_response(problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
        problem = {
            "type": PROBLEM_BASE + str(exc.status_code),
            "title": titles.get(exc.status_code, "HTTP error"),
            "status": exc.status_code,
            "detail": str(exc.detail),
        }
        return problem_response(problem, getattr(exc, "headers", None))


def unexpected_error_response(exc: Exception, path: str) -> JSONResponse:
    """The last line (`shared.middleware.PlatformMiddleware`): an exception no handler claimed becomes a 500
    problem (or a 503 when the database is unreachable), logged with the request id, never with its trace in the
    response."""
    if _sqlstate(exc) == "22021":  # character_not_in_repertoire: PostgreSQL text cannot hold NUL
        return problem_response(
            UnprocessableContent(
                "Text values must not contain NUL (\\u0000) characters",
                errors=[field_error("", "a text value contains a NUL character", "nul_character")],
            ).to_problem()
        )
    if _is_unavailable(exc):
        log.warning("database_unavailable", error_type=type(exc).__name__, path=path)
        return problem_response(
            ServiceUnavailable("The database is unavailable; retry shortly").to_problem(), {"Retry-After": "2"}
        )
    log.exception("unhandled_error", error_type=type(exc).__name__, path=path)
    return problem_response(
        {
            "type": PROBLEM_BASE + "internal",
            "title": "Internal server error",
            "status": 500,
            "detail": "An unexpected error occurred; quote the request id when reporting it",
        }
    )
