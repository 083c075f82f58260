"""Types shared by the whole graph: Relay-style connections, user errors, enums of closed lists, parsing."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, Generic, TypeAlias, TypeVar, cast

import strawberry

from gateway.errors import ErrorCode, GatewayError, UpstreamError

T = TypeVar("T")
Item = TypeVar("Item")
Resolved: TypeAlias = T | Awaitable[T]
"""What a resolver built on `gateway.loaders.loaded` returns: the value, or an awaitable of it."""
F = TypeVar("F", bound=Callable[..., Any])
E = TypeVar("E", bound=Enum)
JSON = dict[str, Any]


def resolver(*, description: str, graphql_type: Any = None) -> Callable[[F], F]:
    """`@strawberry.field(description=…)` for a resolver method, typed for mypy (it keeps the signature).

    `graphql_type` is the field's type when the return annotation cannot say it: a plain resolver that answers
    at once when its value is loaded and with an awaitable otherwise (`gateway.loaders.loaded`).
    """
    return cast(Callable[[F], F], strawberry.field(description=description, graphql_type=graphql_type))


def mutation(*, description: str) -> Callable[[F], F]:
    """`@strawberry.mutation(description=…)`, typed for mypy."""
    return cast(Callable[[F], F], strawberry.mutation(description=description))


@strawberry.type(
    description="Where a page of a connection starts and ends, and whether items come before or after it. The "
    "services' lists page forward only, so connections take `first`/`after` (no `last`/`before`)."
)
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when another page follows this one.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to fetch the next page.")
    has_previous_page: bool = strawberry.field(
        default=False, description="True when items come before this page (the page was asked for `after` a cursor)."
    )
    start_cursor: str | None = strawberry.field(
        default=None, description="The cursor of the page's first item; null for an empty page."
    )


@strawberry.type(description="One item of a connection with the cursor that resumes right after it.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor; pass as `after` to continue after this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A Relay-style page of items.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page with their cursors.")
    page_info: PageInfo = strawberry.field(description="Whether more items follow, and where to resume.")

    @resolver(description="The items of this page without cursors (a shortcut over `edges`).")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


@strawberry.enum(description="Why a mutation did not change anything, as a machine-readable code.")
class UserErrorCode(Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    STALE_VERSION = "stale_version"
    PRECONDITION_REQUIRED = strawberry.enum_value(
        "precondition_required",
        description="The change needs the version it applies to (`version`, from the object as read); none was sent.",
    )


@strawberry.type(description="A problem with the input of a mutation, pointing at the field when there is one.")
class UserError:
    field: str | None = strawberry.field(description="JSON pointer or argument name of the offending field.")
    message: str = strawberry.field(description="What is wrong, in words a user can act on.")
    code: UserErrorCode = strawberry.field(description="The kind of problem.")


HEADER_ARGUMENTS = {"#header/Idempotency-Key": "idempotencyKey"}
"""Upstream pointers into request headers, named by the mutation argument that carries them."""


def _field(pointer: str | None) -> str | None:
    return HEADER_ARGUMENTS.get(pointer or "", pointer or None)


def user_errors_from(error: UpstreamError) -> list[UserError]:
    """Turn a refusal about the input (400/404/409/412/422/428) into typed user errors; re-raise the rest. A
    version that is not current (412) is `STALE_VERSION`; none at all (428) is `PRECONDITION_REQUIRED`."""
    if error.code == ErrorCode.BAD_USER_INPUT:
        if error.field_errors:
            return [
                UserError(field=_field(e["field"]), message=e["message"], code=UserErrorCode.INVALID)
                for e in error.field_errors
            ]
        return [UserError(field=None, message=error.detail, code=UserErrorCode.INVALID)]
    if error.code == ErrorCode.NOT_FOUND:
        return [UserError(field="id", message=error.detail, code=UserErrorCode.NOT_FOUND)]
    if error.code == ErrorCode.CONFLICT and error.status == 428:
        return [UserError(field="version", message=error.detail, code=UserErrorCode.PRECONDITION_REQUIRED)]
    if error.code == ErrorCode.CONFLICT:
        stale = error.status == 412
        if error.field_errors and not stale:  # e.g. a claim refused need by need
            return [
                UserError(field=e["field"] or None, message=e["message"], code=UserErrorCode.CONFLICT)
                for e in error.field_errors
            ]
        return [
            UserError(
                field="version" if stale else None,
                message=error.detail,
                code=UserErrorCode.STALE_VERSION if stale else UserErrorCode.CONFLICT,
            )
        ]
    raise error


# --- cursors ---------------------------------------------------------------------------------------------
# Upstream lists give one cursor per page. An edge cursor records the upstream page cursor it came from and
# how many items of that page to skip, so paging can resume after any edge, not only at a page end.

_CURSOR_PREFIX = "c1:"


def encode_cursor(upstream_cursor: str | None, skip: int) -> str:
    raw = json.dumps({"c": upstream_cursor, "s": skip}, separators=(",", ":")).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str | None, int]:
    if not cursor:
        return None, 0
    if not cursor.startswith(_CURSOR_PREFIX):
        raise GatewayError("`after` is not a cursor this API issued", ErrorCode.BAD_USER_INPUT)
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        upstream, skip = data["c"], int(data["s"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GatewayError("`after` is not a cursor this API issued", ErrorCode.BAD_USER_INPUT) from exc
    if (upstream is not None and not isinstance(upstream, str)) or skip < 0 or skip > 100:
        raise GatewayError("`after` is not a cursor this API issued", ErrorCode.BAD_USER_INPUT)
    return upstream, skip


async def paginate(
    fetch: Callable[[int, str | None], Awaitable[tuple[Sequence[Item], str | None]]],
    *,
    first: int,
    after: str | None,
    build: Callable[[Item], T],
    max_page_size: int,
) -> Connection[T]:
    """Fetch `first` items after `after` with one upstream call, and wrap them as a connection."""
    if first < 0 or first > max_page_size:
        raise GatewayError(f"`first` must be between 0 and {max_page_size}", ErrorCode.PAGE_SIZE_EXCEEDED)
    upstream_cursor, skip = decode_cursor(after)
    # The service is asked even for `first: 0` (one item), so its role check applies whatever the page size, and
    # `hasNextPage` says whether an item follows.
    items, next_cursor = await fetch(min(max(first, 1) + skip, max_page_size), upstream_cursor)
    page = items[skip : skip + first]
    rest_of_page = len(items) > skip + first
    edges: list[Edge[T]] = []
    for offset, item in enumerate(page, start=skip + 1):
        at_page_end = offset == len(items) and not rest_of_page
        cursor = (
            encode_cursor(next_cursor, 0) if at_page_end and next_cursor else encode_cursor(upstream_cursor, offset)
        )
        edges.append(Edge(cursor=cursor, node=build(item)))
    has_next = rest_of_page or next_cursor is not None
    page_info = PageInfo(
        has_next_page=has_next,
        end_cursor=edges[-1].cursor if edges else after,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=page_info)


# --- parsing upstream JSON -------------------------------------------------------------------------------


def parse_enum(cls: type[E], value: str | None) -> E | None:
    """The enum member of a service's wire value; None for a value this version of the graph does not know."""
    try:
        return cls(value)
    except ValueError:
        return None


def to_rest(value: Any) -> Any:
    """A strawberry input (dataclasses, enums, dates) as the services' snake_case JSON; unset dropped."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is strawberry.UNSET:
                continue
            out[f.name] = to_rest(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [to_rest(v) for v in value]
    if isinstance(value, dict):
        return {k: to_rest(v) for k, v in value.items()}
    return value
