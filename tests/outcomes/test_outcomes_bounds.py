"""The bounds the OpenAPI document declares (`shared.fields`) are the server's rules: past a bound, a 422 problem
naming the field, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from shared.fields import CODE_LENGTH, CURSOR_LENGTH, NAME_LENGTH
from tests.support import auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))
ADMIN = auth(make_token("admin", agency="LCC", agency_type="council"))


def _pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["pointer"] for e in response.json()["errors"]]


QUERY_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("claims hub", "/v1/claims", {"hub": "h" * (NAME_LENGTH + 1)}, "#query/hub"),
    ("claims cursor", "/v1/claims", {"cursor": "c" * (CURSOR_LENGTH + 1)}, "#query/cursor"),
    ("claims period", "/v1/claims", {"period": "2025-Q1-and-more"}, "#query/period"),
    ("framework version", "/v1/frameworks/families-first", {"version": "v" * (CODE_LENGTH + 1)}, "#query/version"),
]


@pytest.mark.parametrize(("case", "path", "params", "pointer"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
async def test_an_over_long_parameter_is_a_422_naming_it(
    outcomes_client: httpx.AsyncClient, case: str, path: str, params: dict[str, Any], pointer: str
) -> None:
    response = await outcomes_client.get(path, params=params, headers=ADMIN)
    assert pointer in _pointers(response), response.json()


async def test_an_over_long_framework_code_in_the_path_is_a_422(outcomes_client: httpx.AsyncClient) -> None:
    response = await outcomes_client.get("/v1/frameworks/" + "f" * (CODE_LENGTH + 1), headers=ADMIN)
    assert "#path/code" in _pointers(response)


async def test_attendance_sessions_are_bounded(outcomes_client: httpx.AsyncClient) -> None:
    row = {
        "kind": "attendance",
        "person_id": str(uuid.uuid4()),
        "term_start": "2025-01-06",
        "term_end": "2025-03-28",
        "possible_sessions": 10_001,
        "attended_sessions": 100,
    }
    response = await outcomes_client.post("/v1/observations", json={"rows": [row]}, headers=ANALYST)
    assert any(p.startswith("/rows/0/") and p.endswith("/possible_sessions") for p in _pointers(response))
