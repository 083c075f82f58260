"""Batch lookups cost one query whatever the count; list filters and cursors; the framework ETag cache; settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.config import Settings
from cases.frameworks import FrameworkClient
from shared.auth import ServiceCredentials
from tests.cases.conftest import ASSESSMENT, FrameworkServer, World, assign, open_family_case
from tests.support.factories import upn as make_upn


@contextmanager
def counting_selects(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    """Record the SELECT statements sent on the test's connection."""
    connection = sessions.kw["bind"].sync_connection
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", before)


async def test_batch_lookups_cost_one_query_whatever_the_count(
    client: httpx.AsyncClient, world: World, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = [await open_family_case(client, world, upn=make_upn(500 + i)) for i in range(4)]
    family_ids, case_ids = [f for f, _ in made], [c for _, c in made]
    manager = world.manager()
    for path, ids in (("/v1/families?ids=", family_ids), ("/v1/cases?family_ids=", family_ids),
                      ("/v1/cases?ids=", case_ids), ("/v1/plans?case_ids=", case_ids),
                      ("/v1/contacts?case_ids=", case_ids)):  # fmt: skip
        counts = []
        for some in (ids[:1], ids):
            with counting_selects(cases_sessions) as seen:
                response = await client.get(path + ",".join(some), headers=manager)
            assert response.status_code == 200, response.text
            counts.append(len(seen))
        assert counts[0] == counts[1], (path, counts)
    families = (await client.get("/v1/families?ids=" + ",".join(family_ids), headers=manager)).json()["items"]
    assert sorted(f["id"] for f in families) == sorted(family_ids)
    assert all(len(f["members"]) == 2 and f["members"][0]["person"]["id"] for f in families)
    too_many = await client.get("/v1/families?ids=" + ",".join(family_ids * 26), headers=manager)
    assert too_many.status_code == 422  # at most 100 ids per call
    bad = await client.get("/v1/families?ids=nope", headers=manager)
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "#query/ids"


async def test_family_list_filters_and_cursor(client: httpx.AsyncClient, world: World) -> None:
    made = [await open_family_case(client, world, upn=make_upn(600 + i)) for i in range(3)]
    manager = world.manager()
    _, led_case = made[0]
    assert (await assign(client, world, led_case, world.lead)).status_code == 201
    assert (await client.post(f"/v1/cases/{led_case}/assessment", json=ASSESSMENT, headers=manager)).status_code == 201

    by_worker = (await client.get(f"/v1/families?lead_worker_id={world.lead.id}", headers=manager)).json()["items"]
    assert [f["id"] for f in by_worker] == [made[0][0]]
    by_need = (await client.get("/v1/families?need=housing&eligible=true", headers=manager)).json()["items"]
    assert [f["id"] for f in by_need] == [made[0][0]]
    assert (await client.get("/v1/families?need=crime", headers=manager)).json()["items"] == []
    by_status = (await client.get("/v1/families?case_status=open", headers=manager)).json()["items"]
    assert sorted(f["id"] for f in by_status) == sorted(f for f, _ in made[1:])

    first = (await client.get("/v1/families?hub=north&limit=2", headers=manager)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (await client.get(f"/v1/families?hub=north&limit=2&cursor={first['next_cursor']}", headers=manager)).json()
    seen = [f["id"] for f in first["items"] + rest["items"]]
    assert sorted(seen) == sorted(f for f, _ in made) and rest["next_cursor"] is None


async def test_framework_is_cached_and_revalidated_with_its_etag(framework_server: FrameworkServer) -> None:
    settings = Settings(environment="test")
    async with httpx.AsyncClient() as http:
        frameworks = FrameworkClient(
            base_url=framework_server.url, http=http, credentials=ServiceCredentials(settings), max_age=0
        )
        first = await frameworks.active()
        second = await frameworks.active()
    assert first == second and first.min_needs == 3 and first.need("housing") is not None
    assert (frameworks.requests, frameworks.not_modified) == (2, 1)


async def test_assessment_is_refused_when_the_needs_are_not_the_frameworks(
    client: httpx.AsyncClient, world: World
) -> None:
    _, case_id = await open_family_case(client, world)
    body = {
        "needs": [{"code": "astrology", "evidence": "x"}, {"code": "housing", "descriptors": ["nope"], "evidence": "y"}]
    }
    response = await client.post(f"/v1/cases/{case_id}/assessment", json=body, headers=world.manager())
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {"/needs/0/code", "/needs/1/descriptors/0"}
    two = {"needs": ASSESSMENT["needs"][:2]}
    response = await client.post(f"/v1/cases/{case_id}/assessment", json=two, headers=world.manager())
    assert response.status_code == 201 and response.json()["eligible"] is False
    assert any("at least 3" in r for r in response.json()["eligibility_reasons"])


def test_subscribers_are_configurable_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    custom = [{"name": "outcomes", "url": "http://127.0.0.1:9/v1/events", "event_types": ["case.closed"]}]
    monkeypatch.setenv("CASES_SUBSCRIBERS", json.dumps(custom))
    monkeypatch.setenv("CASES_OUTCOMES_URL", "http://127.0.0.1:9")
    settings = Settings()
    assert [s.event_types for s in settings.subscribers] == [["case.closed"]]
    assert settings.outcomes_url == "http://127.0.0.1:9"
    monkeypatch.delenv("CASES_SUBSCRIBERS")
    defaults = {s.name: set(s.event_types) for s in Settings().subscribers}
    rights = {"family.legal_hold_placed", "family.legal_hold_released", "person.erased", "person.rectified"}
    assert defaults == {
        "referrals": {"case.opened", "case.joined", *rights},
        "outcomes": {"case.assessment_completed", "case.closed", *rights},
    }


async def test_my_worker_record_is_found_by_token_subject(client: httpx.AsyncClient, world: World) -> None:
    mine = await client.get("/v1/workers/me", headers=world.practitioner(world.lead))
    assert mine.status_code == 200, mine.text
    assert mine.json()["id"] == str(world.lead.id) and mine.json()["subject"] == world.lead.subject
    # a hub manager of this test has no worker record: 404 problem, not someone else's record
    none = await client.get("/v1/workers/me", headers=world.manager())
    assert none.status_code == 404 and none.headers["content-type"] == "application/problem+json"
