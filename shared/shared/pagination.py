"""Opaque cursors for keyset pagination: the sort key of the last row of a page, as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import orjson

from shared.errors import UnprocessableContent, field_error


def encode_cursor(*key: str | int | bool | datetime | date | uuid.UUID | None) -> str:
    """A cursor for the row whose sort key is `key` (datetimes as ISO 8601, UUIDs as text)."""
    return base64.urlsafe_b64encode(orjson.dumps([_plain(k) for k in key])).decode().rstrip("=")


def decode_cursor(cursor: str, parsers: Sequence[Callable[[Any], Any]]) -> tuple[Any, ...]:
    """The sort key a cursor of `encode_cursor` carries, each part read by its parser, e.g.
    `decode_cursor(c, (datetime.fromisoformat, uuid.UUID))`; a cursor this API did not issue is a 422."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, list) or len(key) != len(parsers):
            raise ValueError("wrong shape")
        return tuple(parse(part) for parse, part in zip(parsers, key, strict=True))
    except (ValueError, TypeError) as exc:
        raise UnprocessableContent(
            "The cursor is not one this API issued", errors=[field_error("#query/cursor", "invalid cursor")]
        ) from exc


def _plain(value: str | int | bool | datetime | date | uuid.UUID | None) -> str | int | bool | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
