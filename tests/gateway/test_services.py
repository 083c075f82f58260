"""The gateway against the four services running as real processes on fresh databases.

* the number of upstream calls for a page of families is the same for N = 1, 10 and 50 (no N+1);
* with the outcomes service stopped, the other services' fields still resolve (partial data plus an error);
* `health` reports each service's readiness.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from shared.db import plain_url
from tests.conftest import template_name
from tests.gateway.conftest import codes, delta, gateway_client, gql, upstream_calls
from tests.support import ServiceProcesses, auth, clone_database, common_test_env, free_port, make_token

pytestmark = pytest.mark.e2e

HUB = "north"
MANAGER = make_token("hub_manager", sub="gw-manager", agency="LCC", agency_type="council", hubs=[HUB])

FAMILY_PAGE = """
query FamilyPage($first: Int!) {
  families(first: $first, filter: {hub: "north"}) {
    edges { node {
      id
      members { role person { id givenName } }
      currentCase { id leadWorker { id name } plan { goals { need description } } }
      referrals { id status }
      progress { need met }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass
class Stack:
    processes: ServiceProcesses
    urls: dict[str, str]


@pytest.fixture(scope="module")
async def stack(
    server_url: str,
    referrals_db: str,
    cases_db: str,
    outcomes_db: str,
    intelligence_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    log_dir = tmp_path_factory.mktemp("gateway-stack")
    processes = ServiceProcesses()
    async with (
        clone_database(server_url, template_name("referrals")) as referrals_url,
        clone_database(server_url, template_name("cases")) as cases_url,
        clone_database(server_url, template_name("outcomes")) as outcomes_url,
        clone_database(server_url, template_name("intelligence")) as intelligence_url,
    ):
        for name, prefix, db in (
            ("referrals", "REFERRALS", referrals_url),
            ("cases", "CASES", cases_url),
            ("outcomes", "OUTCOMES", outcomes_url),
            ("intelligence", "INTELLIGENCE", intelligence_url),
        ):
            port = free_port()
            processes.add(name, f"{name}.app:create_app", common_test_env(prefix, db, port), log_dir, port=port)
        urls = {name: p.url for name, p in processes.processes.items()}
        for prefix in ("REFERRALS", "CASES", "INTELLIGENCE"):
            env = processes[prefix.lower()].env
            env[f"{prefix}_OUTCOMES_URL"] = urls["outcomes"]
        processes["referrals"].env["REFERRALS_CASES_URL"] = urls["cases"]
        await add_hubs(cases_url)
        try:
            await processes.start(timeout=120)  # generous: the suite shares 2 cores
            await seed_families(urls["cases"], 50)
            yield Stack(processes, urls)
        finally:
            processes.stop()


async def add_hubs(cases_db_url: str) -> None:
    """The demo hubs of docs/contracts.md (hubs are data the cases service holds; it has no API to add them)."""
    conn = await asyncpg.connect(plain_url(cases_db_url))
    try:
        await conn.executemany(
            "INSERT INTO hubs (code, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [("north", "North hub"), ("central", "Central hub"), ("south", "South hub")],
        )
    finally:
        await conn.close()


def person(given_name: str, born: str) -> dict[str, str]:
    return {"given_name": given_name, "family_name": "Gw", "date_of_birth": born}


async def seed_families(cases_url: str, count: int) -> None:
    """Families with members, an open case and a lead worker each, created through the cases REST API."""
    async with httpx.AsyncClient(base_url=cases_url, headers=auth(MANAGER), timeout=30) as client:
        manager = await client.post(
            "/v1/workers",
            json={
                "name": "Hub Manager",
                "subject": "gw-manager",
                "agency": "LCC",
                "agency_type": "council",
                "hub": HUB,
                "role": "hub_manager",
            },
        )
        assert manager.status_code == 201, manager.text
        worker = await client.post(
            "/v1/workers",
            json={
                "name": "Asha Patel",
                "subject": "gw-asha",
                "agency": "LCC",
                "agency_type": "council",
                "hub": HUB,
                "caseload_cap": 200,
            },
        )
        assert worker.status_code == 201, worker.text
        worker_id = worker.json()["id"]
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with gate:
                family = await client.post(
                    "/v1/families",
                    json={
                        "name": f"Family {i}",
                        "hub": HUB,
                        "postcode": "LS1 4AB",
                        "members": [
                            {
                                "role": "parent_carer",
                                "person": {
                                    "given_name": f"Parent{i}",
                                    "family_name": "Gw",
                                    "date_of_birth": "1990-01-01",
                                },
                            },
                            {
                                "role": "child",
                                "person": {
                                    "given_name": f"Child{i}",
                                    "family_name": "Gw",
                                    "date_of_birth": "2015-05-05",
                                },
                            },
                        ],
                    },
                )
                assert family.status_code == 201, family.text
                case = await client.post("/v1/cases", json={"family_id": family.json()["id"], "reason": "gateway test"})
                assert case.status_code == 201, case.text
                lead = await client.post(
                    f"/v1/cases/{case.json()['id']}/lead-worker", json={"worker_id": worker_id, "reason": "allocation"}
                )
                assert lead.status_code == 201, lead.text

        await asyncio.gather(*(one(i) for i in range(count)))


def gateway_urls(stack: Stack) -> dict[str, str]:
    return {f"{name}_url": url for name, url in stack.urls.items()}


async def test_upstream_calls_do_not_grow_with_the_page(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:
        calls: dict[int, dict[str, float]] = {}
        for first in (1, 10, 50):
            before = await upstream_calls(client)
            body = await gql(client, FAMILY_PAGE, {"first": first}, token=MANAGER)
            calls[first] = delta(before, await upstream_calls(client))
            assert "errors" not in body, body["errors"]
            edges = body["data"]["families"]["edges"]
            assert len(edges) == first
            for edge in edges:
                node = edge["node"]
                assert len(node["members"]) == 2
                assert node["currentCase"]["leadWorker"]["name"] == "Asha Patel"
                assert node["referrals"] == [] and node["progress"] == []
        assert calls[1] == calls[10] == calls[50], calls
        # families list, cases by family, workers, plans (cases); referrals by family; progress by family
        assert calls[50] == {"cases": 4, "referrals": 1, "outcomes": 1}, calls


# The family page again, written with a fragment, an alias, a `nodes` shortcut and directives: the look-ahead in
# `families` must find the same joins through all of them (and none that a directive leaves out).
FAMILY_PAGE_IN_OTHER_WORDS = """
fragment Casework on Case { id lead: leadWorker { id name } plan @include(if: $plans) { goals { need description } } }
query FamilyPage($first: Int!, $plans: Boolean!, $noReferrals: Boolean!) {
  families(first: $first, filter: {hub: "north"}) {
    nodes {
      id
      members { role person { id givenName } }
      currentCase { ...Casework }
      ... on Family { referrals @skip(if: $noReferrals) { id status } }
      progress { need met }
    }
  }
}
"""


async def test_the_look_ahead_follows_fragments_aliases_and_directives(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:
        before = await upstream_calls(client)
        plain = await gql(client, FAMILY_PAGE, {"first": 10}, token=MANAGER)
        plain_calls = delta(before, await upstream_calls(client))
        before = await upstream_calls(client)
        other = await gql(
            client, FAMILY_PAGE_IN_OTHER_WORDS, {"first": 10, "plans": True, "noReferrals": False}, token=MANAGER
        )
        other_calls = delta(before, await upstream_calls(client))
        before = await upstream_calls(client)
        fewer = await gql(
            client, FAMILY_PAGE_IN_OTHER_WORDS, {"first": 10, "plans": False, "noReferrals": True}, token=MANAGER
        )
        fewer_calls = delta(before, await upstream_calls(client))
    for body in (plain, other, fewer):
        assert "errors" not in body, body["errors"]
    expected = [edge["node"] for edge in plain["data"]["families"]["edges"]]
    for node in expected:
        node["currentCase"]["lead"] = node["currentCase"].pop("leadWorker")
    assert other["data"]["families"]["nodes"] == expected
    assert other_calls == plain_calls == {"cases": 4, "referrals": 1, "outcomes": 1}, (plain_calls, other_calls)
    for node in fewer["data"]["families"]["nodes"]:
        assert "plan" not in node["currentCase"] and "referrals" not in node
    # no plans and no referrals asked for: neither is fetched
    assert fewer_calls == {"cases": 3, "outcomes": 1}, fewer_calls


async def test_a_persons_families_cost_one_call_whatever_the_page(stack: Stack) -> None:
    query = """query($f: Int!) {
      families(first: $f, filter: {hub: "north"}) { edges { node { id members { person { id families { id } } } } } }
    }"""
    async with gateway_client(**gateway_urls(stack)) as client:
        calls = {}
        for first in (1, 10):
            before = await upstream_calls(client)
            body = await gql(client, query, {"f": first}, token=MANAGER)
            calls[first] = delta(before, await upstream_calls(client))
            assert "errors" not in body, body["errors"]
            for edge in body["data"]["families"]["edges"]:
                node = edge["node"]
                assert [[f["id"] for f in m["person"]["families"]] for m in node["members"]] == [[node["id"]]] * 2
        assert calls[1] == calls[10] == {"cases": 2}, calls  # the families page, then families by person


async def test_me_is_the_practitioners_worker_record_and_caseload(stack: Stack) -> None:
    query = "{ me { sub worker { name } caseload { id status } } }"
    asha = make_token("practitioner", sub="gw-asha", agency="LCC", agency_type="council")
    stranger = make_token("practitioner", sub="gw-nobody", agency="LCC", agency_type="council")
    async with gateway_client(**gateway_urls(stack)) as client:
        mine = await gql(client, query, token=asha)
        assert "errors" not in mine, mine["errors"]
        assert mine["data"]["me"]["worker"] == {"name": "Asha Patel"}
        assert len(mine["data"]["me"]["caseload"]) == 50
        assert {c["status"] for c in mine["data"]["me"]["caseload"]} == {"ASSESSMENT"}  # allocated, not yet assessed
        nobody = await gql(client, query, token=stranger)
        assert "errors" not in nobody and nobody["data"]["me"] == {"sub": "gw-nobody", "worker": None, "caseload": []}


async def test_pagination_resumes_after_any_edge(stack: Stack) -> None:
    query = """query($f: Int!, $a: String) {
      families(first: $f, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
    async with gateway_client(**gateway_urls(stack)) as client:
        whole = (await gql(client, query, {"f": 12}, token=MANAGER))["data"]["families"]
        ids = [e["node"]["id"] for e in whole["edges"]]
        assert len(set(ids)) == 12
        resumed = (await gql(client, query, {"f": 5, "a": whole["edges"][3]["cursor"]}, token=MANAGER))["data"]
        assert [e["node"]["id"] for e in resumed["families"]["edges"]] == ids[4:9]
        following = (await gql(client, query, {"f": 3, "a": whole["pageInfo"]["endCursor"]}, token=MANAGER))["data"]
        assert not set(ids) & {e["node"]["id"] for e in following["families"]["edges"]}
        bad = await gql(client, query, {"f": 3, "a": "not-a-cursor"}, token=MANAGER)
        assert codes(bad) == ["BAD_USER_INPUT"]


async def test_no_token_is_unauthenticated_not_a_500(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:
        body = await gql(client, FAMILY_PAGE, {"first": 1})
        assert body["data"] is None
        assert codes(body) == ["UNAUTHENTICATED"]


async def test_partner_system_is_refused_cases_data(stack: Stack) -> None:
    partner = make_token("partner_system", sub="sch", agency="SCH-LS-001", agency_type="school")
    async with gateway_client(**gateway_urls(stack)) as client:
        body = await gql(client, FAMILY_PAGE, {"first": 1}, token=partner)
        assert body["data"] is None
        assert codes(body) == ["FORBIDDEN"]


async def test_health_reports_each_service(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:
        body = await gql(client, "{ health { service ready detail } }")
        assert {h["service"]: h["ready"] for h in body["data"]["health"]} == {
            "REFERRALS": True,
            "CASES": True,
            "OUTCOMES": True,
            "INTELLIGENCE": True,
        }
        assert (await client.get("/readyz")).status_code == 200


async def test_partial_data_when_outcomes_is_stopped(stack: Stack) -> None:
    outcomes = stack.processes["outcomes"]
    outcomes.stop()
    try:
        async with gateway_client(**gateway_urls(stack)) as client:
            body = await gql(client, FAMILY_PAGE, {"first": 10}, token=MANAGER)
            edges = body["data"]["families"]["edges"]
            assert len(edges) == 10
            for edge in edges:
                assert edge["node"]["progress"] is None  # the outcomes field is null …
                assert edge["node"]["currentCase"]["leadWorker"]["name"] == "Asha Patel"  # … the rest resolves
                assert edge["node"]["referrals"] == []
            assert set(codes(body)) == {"UPSTREAM_UNAVAILABLE"}
            assert all(e["extensions"]["service"] == "outcomes" for e in body["errors"])
            assert {tuple(e["path"][-1:]) for e in body["errors"]} == {("progress",)}
            health = await gql(client, "{ health { service ready } }")
            assert {h["service"]: h["ready"] for h in health["data"]["health"]}["OUTCOMES"] is False
            assert (await client.get("/readyz")).status_code == 503
    finally:
        outcomes.start()
        await outcomes.wait_ready(timeout=120)


# --- GraphQL over HTTP and Relay (issue 18) -------------------------------------------------------------------

ANALYST = make_token("analyst", sub="gw-analyst", agency="LCC", agency_type="council")


async def test_first_zero_still_asks_the_service_so_its_role_check_applies(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:
        refused = await gql(client, "{ families(first: 0) { pageInfo { hasNextPage } } }", token=ANALYST)
        assert codes(refused) == ["FORBIDDEN"], refused
        allowed = await gql(client, "{ families(first: 0) { edges { cursor } pageInfo { hasNextPage } } }",
                            token=MANAGER)  # fmt: skip
        assert allowed["data"]["families"] == {"edges": [], "pageInfo": {"hasNextPage": True}}


async def test_page_info_has_start_cursor_and_previous_page(stack: Stack) -> None:
    query = """query ($after: String) { families(first: 2, after: $after, filter: {hub: "north"}) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    async with gateway_client(**gateway_urls(stack)) as client:
        first = (await gql(client, query, token=MANAGER))["data"]["families"]
        info = first["pageInfo"]
        assert info["hasPreviousPage"] is False and info["startCursor"] == first["edges"][0]["cursor"]
        second = (await gql(client, query, {"after": info["endCursor"]}, token=MANAGER))["data"]["families"]
        assert second["pageInfo"]["hasPreviousPage"] is True
        assert second["pageInfo"]["startCursor"] == second["edges"][0]["cursor"]
        assert {e["node"]["id"] for e in first["edges"]}.isdisjoint(e["node"]["id"] for e in second["edges"])


PAGE = """query ($first: Int, $after: String, $last: Int, $before: String) {
  families(first: $first, after: $after, last: $last, before: $before, filter: {hub: "north"}) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def test_paging_backward_with_last_and_before_gives_the_forward_pages(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:

        async def page(**variables: object) -> dict[str, Any]:
            body = await gql(client, PAGE, dict(variables), token=MANAGER)
            assert "errors" not in body, body
            found: dict[str, Any] = body["data"]["families"]
            return found

        forward: list[str] = []
        found = await page(first=7)
        assert found["pageInfo"]["hasPreviousPage"] is False
        while True:
            forward += [e["node"]["id"] for e in found["edges"]]
            if not found["pageInfo"]["hasNextPage"]:
                break
            found = await page(first=7, after=found["pageInfo"]["endCursor"])
        assert len(forward) == len(set(forward)) == 50

        backward: list[str] = []
        found = await page(last=7)
        assert found["pageInfo"]["hasNextPage"] is False, "nothing follows the end, and no `before` was given"
        while True:
            assert found["pageInfo"]["startCursor"] == found["edges"][0]["cursor"]
            backward = [e["node"]["id"] for e in found["edges"]] + backward
            if not found["pageInfo"]["hasPreviousPage"]:
                break
            found = await page(last=7, before=found["pageInfo"]["startCursor"])
            assert found["pageInfo"]["hasNextPage"] is True, "the item of `before` follows"
        assert backward == forward
        assert len(found["edges"]) == 50 % 7, "the first page backward holds what is left"

        whole = await page(first=50)
        middle = whole["edges"][20]["cursor"]
        assert [e["node"]["id"] for e in (await page(last=3, before=middle))["edges"]] == forward[17:20]
        assert [e["node"]["id"] for e in (await page(first=3, after=middle))["edges"]] == forward[21:24]
        empty = await page(last=5, before=whole["edges"][0]["cursor"])
        assert empty["edges"] == [] and empty["pageInfo"]["hasPreviousPage"] is False

        mixed = await gql(client, PAGE, {"first": 2, "before": middle}, token=MANAGER)
        assert codes(mixed) == ["BAD_USER_INPUT"] and "`first`, `before`" in mixed["errors"][0]["message"]
        too_many = await gql(client, PAGE, {"last": 101}, token=MANAGER)
        assert codes(too_many) == ["PAGE_SIZE_EXCEEDED"]
        refused = await gql(client, "{ families(last: 0) { pageInfo { hasPreviousPage } } }", token=ANALYST)
        assert codes(refused) == ["FORBIDDEN"], "the service is asked whatever the page size"
        bad = await gql(client, PAGE, {"last": 2, "before": "c2:%%"}, token=MANAGER)
        assert codes(bad) == ["BAD_USER_INPUT"] and "`before`" in bad["errors"][0]["message"]


async def test_node_and_nodes_refetch_any_object_by_id(stack: Stack) -> None:
    async with gateway_client(**gateway_urls(stack)) as client:
        page = await gql(client, "{ families(first: 1) { nodes { id members { person { id } } } } }", token=MANAGER)
        family = page["data"]["families"]["nodes"][0]
        person_id = family["members"][0]["person"]["id"]
        query = """query ($id: ID!, $ids: [ID!]!) {
          node(id: $id) { __typename id ... on Family { hub } }
          nodes(ids: $ids) { __typename id } }"""
        unknown = "00000000-0000-4000-8000-000000000000"
        ids = [person_id, unknown, "not-an-id", family["id"]]
        body = await gql(client, query, {"id": family["id"], "ids": ids}, token=MANAGER)
        assert "errors" not in body, body
        assert body["data"]["node"] == {"__typename": "Family", "id": family["id"], "hub": HUB}
        assert body["data"]["nodes"] == [
            {"__typename": "Person", "id": person_id},
            None,
            None,
            {"__typename": "Family", "id": family["id"]},
        ]
        outsider = await gql(client, "query ($id: ID!) { node(id: $id) { id } }", {"id": family["id"]}, token=ANALYST)
        assert outsider["data"]["node"] is None


async def test_framework_details_come_from_the_shared_framework_contract(stack: Stack) -> None:
    query = "{ frameworks { code version minNeeds requiresDependentChildren needs { code name rule { kind } } } }"
    async with gateway_client(**gateway_urls(stack)) as client:
        before = await upstream_calls(client)
        body = await gql(client, query, token=MANAGER)
        assert "errors" not in body, body
        frameworks = body["data"]["frameworks"]
        assert frameworks and all(f["minNeeds"] >= 1 and f["needs"] for f in frameworks), frameworks
        assert all(n["rule"] is None or n["rule"]["kind"] for f in frameworks for n in f["needs"])
        # the list, then one definition per framework version (however many fields ask for it)
        assert delta(before, await upstream_calls(client)) == {"outcomes": 1 + len(frameworks)}


async def test_a_hub_manager_lists_the_hubs_workers_with_caseload_and_capacity(stack: Stack) -> None:
    """Issue 22: `hubWorkers` answers a hub's workers with their current caseload and capacity."""
    query = "query($hub: String!) { hubWorkers(hub: $hub) { name caseloadCap currentCaseload capacity } }"
    async with gateway_client(**gateway_urls(stack)) as client:
        body = await gql(client, query, {"hub": HUB}, token=MANAGER)
        assert "errors" not in body, body["errors"]
        asha = next(w for w in body["data"]["hubWorkers"] if w["name"] == "Asha Patel")
        assert (asha["caseloadCap"], asha["currentCaseload"], asha["capacity"]) == (200, 50, 150)
        other_hub = make_token("hub_manager", sub="gw-south", agency="LCC", agency_type="council", hubs=["south"])
        refused = await gql(client, query, {"hub": HUB}, token=other_hub)
        assert refused["data"] is None or refused["data"]["hubWorkers"] is None
        assert codes(refused) == ["FORBIDDEN"], refused
