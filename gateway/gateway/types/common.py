"""Types shared by the whole graph: Relay-style connections, user errors, enums of closed lists, parsing."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Generic, TypeAlias, TypeVar, cast

import strawberry

from gateway.clients.base import PageRequest
from gateway.errors import ErrorCode, GatewayError, UpstreamError
from gateway.upstream import KeysetPage

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
    description="Where a page of a connection starts and ends, and whether items come before or after it "
    "(Relay). Connections page forward with `first`/`after` or backward with `last`/`before`, never both."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Paging forward: true when another page follows. Paging backward: true when `before` was given "
        "(the item of that cursor follows)."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last item: pass as `after` for the next page; null for an empty page."
    )
    has_previous_page: bool = strawberry.field(
        default=False,
        description="Paging backward: true when items come before this page. Paging forward: true when `after` "
        "was given (the item of that cursor comes before).",
    )
    start_cursor: str | None = strawberry.field(
        default=None,
        description="The cursor of the page's first item: pass as `before` for the previous page; null for an empty "
        "page.",
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque cursor: pass as `after` to continue after this item, or as `before` for the items "
        "right before it."
    )
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
# Every list the graph pages is keyset-paged by its service, which answers a cursor per item (`shared.pagination`):
# an edge cursor is the service's cursor of that item, so a page can resume after any edge (`after`) or end right
# before it (`before`), and a cursor stays valid however the page sizes change.
#
# strawberry's relay module was weighed: its `ListConnection` slices an in-memory list with offset cursors
# (`arrayconnection:N`), and a custom `relay.Connection.resolve_connection` would still need all of the below; the
# existing `Connection`/`Edge`/`PageInfo` types have the Relay shape and keep the published type names.

_CURSOR_PREFIX = "c2:"
_UPSTREAM_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,500}")


def encode_cursor(upstream_cursor: str) -> str:
    """The edge cursor of an item whose service cursor is `upstream_cursor`."""
    return _CURSOR_PREFIX + upstream_cursor


def decode_cursor(cursor: str | None, argument: str = "after") -> str | None:
    """The service cursor an edge cursor carries; one this API did not issue is a BAD_USER_INPUT naming `argument`."""
    if cursor is None:
        return None
    upstream = cursor[len(_CURSOR_PREFIX) :]
    if not cursor.startswith(_CURSOR_PREFIX) or not _UPSTREAM_CURSOR.fullmatch(upstream):
        raise GatewayError(f"`{argument}` is not a cursor this API issued", ErrorCode.BAD_USER_INPUT)
    return upstream


First = Annotated[
    int | None,
    strawberry.argument(
        description="Page forward: this many items (0 to the page size limit; 20 when neither `first` nor `last` "
        "is given). Not with `last` or `before`."
    ),
]
After = Annotated[
    str | None, strawberry.argument(description="Page forward: the items after this edge's `cursor` (`endCursor`).")
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description="Page backward: this many items, the last ones or those right `before` a cursor, in the list's "
        "order (0 to the page size limit). Not with `first` or `after`."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="Page backward: the items right before this edge's `cursor` (`startCursor`)."),
]


async def paginate(
    fetch: Callable[[PageRequest], Awaitable[KeysetPage[Item]]],
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    build: Callable[[Item], T],
    max_page_size: int,
    default_page_size: int = 20,
) -> Connection[T]:
    """`first` items after `after`, or the `last` items before `before` (or at the end), with one service call,
    as a connection in list order. Either form alone; neither is the first `default_page_size` items."""
    forward = [name for name, value in (("first", first), ("after", after)) if value is not None]
    backward = [name for name, value in (("last", last), ("before", before)) if value is not None]
    if forward and backward:
        raise GatewayError(
            f"Page forward with `first`/`after` or backward with `last`/`before`, not both "
            f"(got {', '.join(f'`{n}`' for n in forward + backward)})",
            ErrorCode.BAD_USER_INPUT,
        )
    size_name, size = ("last", last) if backward else ("first", first)
    size = default_page_size if size is None else size
    if size < 0 or size > max_page_size:
        raise GatewayError(f"`{size_name}` must be between 0 and {max_page_size}", ErrorCode.PAGE_SIZE_EXCEEDED)
    # The service is asked even for a page of 0 (one item), so its role check applies whatever the page size, and
    # the page info says whether an item lies that way.
    limit = max(size, 1)
    if backward:
        upstream = decode_cursor(before, "before")
        page = await fetch(PageRequest(limit, before=upstream, from_end=upstream is None))
        keep = slice(len(page.items) - min(size, len(page.items)), None)
        has_previous, has_next = page.has_previous or len(page.items) > size, before is not None
    else:
        page = await fetch(PageRequest(limit, after=decode_cursor(after, "after")))
        keep = slice(0, size)
        has_previous, has_next = page.has_previous, page.next_cursor is not None or len(page.items) > size
    edges = [
        Edge(cursor=encode_cursor(cursor), node=build(item))
        for item, cursor in zip(page.items[keep], page.cursors[keep], strict=True)
    ]
    page_info = PageInfo(
        has_next_page=has_next,
        end_cursor=edges[-1].cursor if edges else None,
        has_previous_page=has_previous,
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
