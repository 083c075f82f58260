"""The one parser of batch ids and the one cursor codec every service uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.errors import UnprocessableContent
from shared.ids import parse_ids
from shared.pagination import decode_cursor, encode_cursor


def test_ids_are_distinct_in_order_and_absent_means_none() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert parse_ids(f" {a},{b},{a}, ", "ids") == [a, b]
    assert parse_ids(None, "ids") == []


@pytest.mark.parametrize("raw", ["not-a-uuid", ",".join(str(uuid.uuid4()) for _ in range(101))])
def test_bad_or_too_many_ids_point_at_the_parameter(raw: str) -> None:
    with pytest.raises(UnprocessableContent) as caught:
        parse_ids(raw, "person_ids")
    assert caught.value.errors[0]["pointer"] == "#query/person_ids"


def test_a_cursor_round_trips_its_typed_key() -> None:
    key = (True, datetime(2026, 12, 3, 9, 30, tzinfo=UTC), uuid.uuid4())
    cursor = encode_cursor(*key)
    assert decode_cursor(cursor, (bool, datetime.fromisoformat, uuid.UUID)) == key


@pytest.mark.parametrize("cursor", ["%%%", encode_cursor("only-one"), encode_cursor("x", "not-a-uuid")])
def test_a_cursor_this_api_did_not_issue_is_a_422(cursor: str) -> None:
    with pytest.raises(UnprocessableContent):
        decode_cursor(cursor, (str, uuid.UUID))
