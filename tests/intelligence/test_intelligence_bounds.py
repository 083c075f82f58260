"""The bounds the OpenAPI document declares (`shared.fields`) are the server's rules: past a bound, a 422 problem
naming the field, never a 500."""

from __future__ import annotations

import httpx
import pytest

from shared.fields import CODE_LENGTH, CURSOR_LENGTH
from tests.intelligence.conftest import ANALYST, import_file


def _pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["pointer"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"status": "s" * (CODE_LENGTH + 1)}, "#query/status"),
        ({"after": "a" * (CURSOR_LENGTH + 1)}, "#query/after"),
        ({"hub": "h" * (CODE_LENGTH + 1)}, "#query/hub"),
    ],
    ids=["status", "after", "hub"],
)
async def test_an_over_long_filter_is_a_422_naming_it(
    intelligence_client: httpx.AsyncClient, params: dict[str, str], pointer: str
) -> None:
    response = await intelligence_client.get("/v1/identified-families", params=params, headers=ANALYST)
    assert pointer in _pointers(response)


async def test_an_over_long_data_protection_record_is_a_422_naming_it(intelligence_client: httpx.AsyncClient) -> None:
    response = await import_file(intelligence_client, "housing", lawful_basis="6(1)(e)" + "x" * CODE_LENGTH)
    assert "#query/lawful_basis" in _pointers(response)
    long_kind = await intelligence_client.post(
        "/v1/datasets",
        params={"kind": "k" * (CODE_LENGTH + 1), "source_agency": "LCC", "sharing_agreement": "DSA-1"},
        content=b"record_id\n1\n",
        headers={"Content-Type": "text/csv", **ANALYST},
    )
    assert "#query/kind" in _pointers(long_kind)
