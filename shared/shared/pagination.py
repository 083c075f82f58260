"""Keyset pagination: opaque cursors (the sort key of a row, as URL-safe base64 JSON) and the window of rows a
request asks for, forward after a cursor or backward before one (`Window`, `Slice`, `PageLinks`)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, literal, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from shared.errors import UnprocessableContent, field_error
from shared.fields import PAGE_ITEMS, Cursor

R = TypeVar("R")
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
AFTER = "A cursor of the previous page (`next_cursor`, or an item's cursor): the items after it"
BEFORE = "A cursor (`prev_cursor`, or an item's cursor): the items right before it, still in list order"
FROM_END = "True for the last items of the list (paging backward from its end), still in list order"


def encode_cursor(*key: str | int | bool | datetime | date | uuid.UUID | None) -> str:
    """A cursor for the row whose sort key is `key` (datetimes as ISO 8601, UUIDs as text)."""
    return base64.urlsafe_b64encode(orjson.dumps([_plain(k) for k in key])).decode().rstrip("=")


def decode_cursor(cursor: str, parsers: Sequence[Callable[[Any], Any]], *, name: str = "cursor") -> tuple[Any, ...]:
    """The sort key a cursor of `encode_cursor` carries, each part read by its parser, e.g.
    `decode_cursor(c, (datetime.fromisoformat, uuid.UUID))`; a cursor this API did not issue is a 422."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, list) or len(key) != len(parsers):
            raise ValueError("wrong shape")
        return tuple(parse(part) for parse, part in zip(parsers, key, strict=True))
    except (ValueError, TypeError) as exc:
        raise UnprocessableContent(
            "The cursor is not one this API issued", errors=[field_error(f"#query/{name}", "invalid cursor")]
        ) from exc


def aware_datetime(value: Any) -> datetime:
    """A cursor part that is a datetime with its offset (the columns are `timestamptz`)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a datetime without an offset")
    return parsed


def strict_bool(value: Any) -> bool:
    """A cursor part that is a JSON boolean."""
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def int32(value: Any) -> int:
    """A cursor part that is an integer a 32-bit column holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise ValueError("not a 32-bit integer")
    return value


def int64(value: Any) -> int:
    """A cursor part that is a positive integer a `bigint` identity column holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValueError("not a positive 64-bit integer")
    return value


def _plain(value: str | int | bool | datetime | date | uuid.UUID | None) -> str | int | bool | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# --- keyset windows -------------------------------------------------------------------------------------
# One helper for every keyset-paged list (sqlakeyset was weighed: its own bookmark format and query rewriting
# would change the services' cursors and fight their joined, eager-loading selects; the condition is short).


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column (or expression) of a list's order, and whether it sorts descending."""

    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Window:
    """The slice of a keyset-ordered list a request asks for: `limit` items after `key` (forward) or the `limit`
    items right before it (backward, `before`)."""

    limit: int
    key: tuple[Any, ...] | None = None
    backward: bool = False

    @classmethod
    def of(
        cls,
        *,
        limit: int,
        after: str | None,
        before: str | None,
        parsers: Sequence[Callable[[Any], Any]],
        from_end: bool = False,
        after_name: str = "cursor",
    ) -> Window:
        """Read the request's cursors: forward after `after` (the list's own cursor parameter, `after_name`),
        backward before `before`, or backward from the end; more than one of them is a 422 naming the later one. An
        empty cursor is no cursor, as it always was for `cursor`."""
        after, before = after or None, before or None
        if before is not None and after is not None:
            raise _both("before", after_name)
        if from_end and (before is not None or after is not None):
            raise _both("from_end", "before" if before is not None else after_name)
        if before is not None:
            return cls(limit, decode_cursor(before, parsers, name="before"), backward=True)
        if from_end:
            return cls(limit, None, backward=True)
        return cls(limit, decode_cursor(after, parsers, name=after_name) if after is not None else None)

    def apply(self, query: Q, order: Sequence[SortKey]) -> Q:
        """The query past the key in the window's direction, ordered that way, one row more than the page (to know
        whether more follow). Backward, the order is inverted: `Slice.of` puts the rows back in list order."""
        if self.key is not None:
            query = query.where(_past(order, self.key, self.backward))
        by = [k.expression.desc() if k.descending != self.backward else k.expression.asc() for k in order]
        return query.order_by(*by).limit(self.limit + 1)


@dataclass(frozen=True, slots=True)
class Slice(Generic[R]):
    """A page of rows in list order, and whether rows come before and after it."""

    rows: list[R]
    has_previous: bool
    has_next: bool

    @classmethod
    def of(cls, window: Window, rows: Sequence[R]) -> Slice[R]:
        """The page from the rows `Window.apply` fetched (one more than the page when more lie that way). Paging
        forward after a cursor, rows precede; backward before one, rows follow (the item of the cursor at least)."""
        more = len(rows) > window.limit
        page = list(rows[: window.limit])
        if window.backward:
            page.reverse()
            return cls(page, has_previous=more, has_next=window.key is not None)
        return cls(page, has_previous=window.key is not None, has_next=more)

    def links(self, key: Callable[[R], Sequence[Any]]) -> dict[str, Any]:
        """`next_cursor`, `prev_cursor`, `has_previous` and the per-item `cursors` of a `PageLinks` answer."""
        cursors = [encode_cursor(*key(row)) for row in self.rows]
        return {
            "next_cursor": cursors[-1] if self.has_next and cursors else None,
            "prev_cursor": cursors[0] if self.has_previous and cursors else None,
            "has_previous": self.has_previous,
            "cursors": cursors,
        }


class PageLinks(BaseModel):
    """What a keyset-paged answer adds to `items` and `next_cursor` so a client can page both ways."""

    prev_cursor: Cursor | None = Field(
        default=None,
        description="Pass as `before` for the page before this one; null when no item comes before it.",
    )
    has_previous: bool = Field(
        description="True when items come before this page (paging forward: the page was asked for after a cursor).",
    )
    cursors: list[Cursor] = Field(
        max_length=PAGE_ITEMS,
        description="One cursor per item, in order: pass one as the cursor to resume after that item, or as "
        "`before` for the items right before it.",
    )


def _both(name: str, other: str) -> UnprocessableContent:
    return UnprocessableContent(
        f"Page with one of `{other}` and `{name}`, not both",
        errors=[field_error(f"#query/{name}", f"cannot be combined with {other}")],
    )


def _past(order: Sequence[SortKey], key: Sequence[Any], backward: bool) -> ColumnElement[bool]:
    """Rows strictly past `key` in the order (before it when `backward`): for each run of columns sorted the same
    way, the earlier runs equal and this run's row value past the key's, so each run can use a composite index."""
    if len(key) != len(order):
        raise ValueError("a keyset key has one value per sort column")
    binds = [literal(value, k.expression.type) for k, value in zip(order, key, strict=True)]
    runs: list[list[int]] = []
    for i, k in enumerate(order):
        if runs and order[runs[-1][0]].descending == k.descending:
            runs[-1].append(i)
        else:
            runs.append([i])
    alternatives: list[ColumnElement[bool]] = []
    bound: ColumnElement[bool] | None = None
    for n, run in enumerate(runs):
        earlier = [order[i].expression == binds[i] for r in runs[:n] for i in r]
        left: ColumnElement[Any] | InstrumentedAttribute[Any] = order[run[0]].expression
        right: ColumnElement[Any] = binds[run[0]]
        if len(run) > 1:
            left, right = tuple_(*(order[i].expression for i in run)), tuple_(*(binds[i] for i in run))
        later = order[run[0]].descending == backward  # ascending forward, or descending backward: greater is past
        alternatives.append(and_(*earlier, left > right if later else left < right))
        if n == 0 and len(runs) > 1:
            bound = left >= right if later else left <= right
    if bound is None:
        return or_(*alternatives)
    # Implied by the alternatives, but alone an index condition: the scan starts at the key, not at the list's start.
    return and_(bound, or_(*alternatives))
