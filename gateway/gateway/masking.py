"""Error masking and logging: gateway and client errors are shown with their code, anything else is hidden
behind the request id and logged with its trace."""

from __future__ import annotations

import re

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from gateway.errors import ErrorCode, GatewayError
from shared.logging import current_request_id

log = structlog.get_logger("gateway.schema")

TOKEN_LIMIT_MARKER = "tokens. Parsing aborted"
SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
"""graphql-core's "Did you mean 'nhsNumber'?" hints, which spell out the schema to anyone outside development."""


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, GatewayError) or _is_input_error(error)


def _is_input_error(error: GraphQLError) -> bool:
    """A variable that cannot be coerced ("abc" for `Int!`, "bogus" for an enum, a malformed date): graphql-core
    reports it with the scalar's own error as `original_error`, but outside any field (no path). It is the
    client's input, answered as `BAD_USER_INPUT` naming the variable, never a masked server error."""
    original = error.original_error
    return error.path is None and isinstance(original, GraphQLError | ValueError | TypeError)


class MaskUnexpectedErrors(MaskErrors):
    """Hide unexpected errors behind the request id; show gateway and upstream errors with their code."""

    def __init__(self, *, hide_suggestions: bool = True) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error))
        self.hide_suggestions = hide_suggestions

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = current_request_id()
        return GraphQLError(
            message=f"An unexpected error occurred; quote request id {request_id} when reporting it",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if error.original_error is None and TOKEN_LIMIT_MARKER in error.message:
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.TOO_MANY_TOKENS.value}
            if _is_input_error(error) and "code" not in (error.extensions or {}):
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_USER_INPUT.value}
            if self.hide_suggestions:
                error.message = SUGGESTION.sub("", error.message)
        return processed


class GatewaySchema(strawberry.Schema):
    """Logs only unexpected errors (with their trace); upstream and limit errors are the clients' business."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if not _is_expected(error):
                log.error(
                    "graphql_unexpected_error",
                    error_type=type(error.original_error).__name__,
                    path=error.path,
                    exc_info=error.original_error,
                )
