"""Errors the gateway shows to GraphQL clients, each with a stable `extensions.code`.

Upstream problem+json responses are mapped to these codes; anything else is masked (see `schema.py`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    UPSTREAM_CALL_LIMIT = "UPSTREAM_CALL_LIMIT"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    PAGE_SIZE_EXCEEDED = "PAGE_SIZE_EXCEEDED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


def code_for_status(status: int) -> ErrorCode:
    """The GraphQL error code for an upstream HTTP status."""
    if status == 401:
        return ErrorCode.UNAUTHENTICATED
    if status == 403:
        return ErrorCode.FORBIDDEN
    if status == 404:
        return ErrorCode.NOT_FOUND
    if status in (409, 412, 428):
        return ErrorCode.CONFLICT
    if status in (400, 413, 422):
        return ErrorCode.BAD_USER_INPUT
    return ErrorCode.UPSTREAM_UNAVAILABLE


class GatewayError(Exception):
    """An error shown to the client as it is (never masked). `extensions` reaches the GraphQL error."""

    def __init__(self, message: str, code: ErrorCode, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extensions: dict[str, Any] = {"code": code.value, **extra}


class UpstreamError(GatewayError):
    """A service answered with an error, or could not be reached."""

    def __init__(
        self,
        service: str,
        status: int | None,
        detail: str,
        *,
        field_errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
    ) -> None:
        code = code_for_status(status) if status is not None else ErrorCode.UPSTREAM_UNAVAILABLE
        extra: dict[str, Any] = {"service": service}
        if status is not None:
            extra["status"] = status
        if field_errors:
            extra["fieldErrors"] = field_errors
        if request_id:
            extra["requestId"] = request_id
        super().__init__(detail, code, **extra)
        self.service = service
        self.status = status
        self.detail = detail
        self.field_errors = field_errors or []
