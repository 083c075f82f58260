"""problem+json for every error; the request owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import platform
from tests.support import auth, make_token

GOOD = {"name": "Zoë O'Neill", "nhs_number": "943 476 5919", "postcode": "ls1 4ab"}


async def test_valid_body_is_normalised(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.post("/things", json=GOOD, headers=auth(make_token("practitioner")))
    assert r.status_code == 200, r.text
    assert r.json()["nhs_number"] == "9434765919"
    assert r.json()["postcode"] == "LS1 4AB"
    assert r.json()["name"] == "Zoë O'Neill"


async def test_validation_errors_point_at_each_field(shared_client: httpx.AsyncClient) -> None:
    body = {"name": "", "nhs_number": "9434765918", "postcode": "NOT A POSTCODE", "tags": [1, "x"]}
    r = await shared_client.post("/things", json=body, headers=auth(make_token("practitioner")))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422
    assert problem["type"].endswith("/validation")
    pointers = {e["pointer"] for e in problem["errors"]}
    assert pointers == {"/name", "/nhs_number", "/postcode", "/tags/1"}
    nhs = next(e for e in problem["errors"] if e["pointer"] == "/nhs_number")
    assert "NHS number" in nhs["detail"]


async def test_malformed_json_is_a_problem(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.post(
        "/things",
        content=b'{"name": ',
        headers={**auth(make_token("practitioner")), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_unknown_route_is_a_404_problem(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.get("/no/such/route")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Not found"


async def test_method_not_allowed_is_a_problem(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.delete("/healthz")
    assert r.status_code == 405
    assert r.json()["status"] == 405


async def test_unexpected_error_is_masked_with_request_id(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.get("/boom", headers={"X-Request-ID": "req-123"})
    assert r.status_code == 500
    problem = r.json()
    assert problem["request_id"] == "req-123"
    assert "4111" not in r.text and "Traceback" not in r.text
    assert r.headers["x-request-id"] == "req-123"


async def test_domain_error_carries_status_and_extensions(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.get("/conflict")
    assert r.status_code == 409
    assert r.json()["existing_id"] == "abc"
    assert r.json()["detail"] == "That already exists"


async def test_error_after_write_rolls_back(
    shared_client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    r = await shared_client.post("/write-then-fail")
    assert r.status_code == 409
    async with referrals_sessions() as session:
        found = (
            await session.execute(
                select(platform.inbox.c.event_id).where(platform.inbox.c.event_id == "should-roll-back")
            )
        ).first()
    assert found is None


async def test_oversized_body_is_413(shared_client: httpx.AsyncClient) -> None:
    r = await shared_client.post(
        "/things",
        content=b"x" * (1_048_576 + 1),
        headers={**auth(make_token("practitioner")), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


async def test_oversized_chunked_body_without_length_is_413(shared_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65_536

    r = await shared_client.post(
        "/things",
        content=chunks(),
        headers={**auth(make_token("practitioner")), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


async def test_nul_character_is_422_not_500(shared_client: httpx.AsyncClient) -> None:
    """PostgreSQL text cannot hold NUL; whichever field carries one, the answer is a 422 problem."""
    r = await shared_client.get("/echo-into-db", params={"value": "a\x00b"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "NUL" in r.json()["detail"]
    ok = await shared_client.get("/echo-into-db", params={"value": "plain"})
    assert ok.status_code == 200


async def test_truncated_json_names_the_character_not_a_pointer(shared_client: httpx.AsyncClient) -> None:
    """A body cut short is not a field error: the character offset is said in words, never as a pointer `/9`."""
    r = await shared_client.post(
        "/things",
        content=b'{"name": ',
        headers={**auth(make_token("practitioner")), "content-type": "application/json"},
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["detail"].startswith("malformed JSON at character 9"), problem
    assert "errors" not in problem, problem
