"""Identified families checked against the cases person index, with both services as real processes over real
PostgreSQL (issue 21): through the cases API only (`POST /v1/people/known`, the intelligence service's own
credentials), a family with an open case is shown as such and not offered, one whose case closed and one cases
does not know are offered; while cases is down a family is `unchecked` — never `not_known` — and the background
loop asks again once cases is back. Nobody but the intelligence service may ask cases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import template_name
from tests.intelligence.conftest import AGENCY, ANALYST, PROTECTION, FrameworkServer
from tests.intelligence.synthetic import Household, _people, datasets, households
from tests.support import ServiceProcesses, auth, clone_database, common_test_env, free_port, make_token

pytestmark = pytest.mark.e2e

NORTH = auth(make_token("hub_manager", sub="known-north", agency="LCC", agency_type="council", hubs=["north"]))
ADMIN = auth(make_token("admin", sub="known-admin", agency="LCC", agency_type="council"))
NEEDS = ("education", "domestic_abuse", "financial_stability")
OPEN, CLOSED, UNKNOWN = households(40, 3, "LS7 3AB", *NEEDS)


@pytest.fixture
async def services(
    server_url: str, cases_db: str, intelligence_db: str, framework_server: FrameworkServer, tmp_path: Any
) -> AsyncIterator[ServiceProcesses]:
    framework_server.active = "supporting-families-2022"
    processes = ServiceProcesses()
    async with (
        clone_database(server_url, template_name("cases")) as cases_url,
        clone_database(server_url, template_name("intelligence")) as intelligence_url,
    ):
        cases = processes.add("cases", "cases.app:create_app", {}, tmp_path, port=free_port())
        cases.env = common_test_env("CASES", cases_url, cases.port) | {"CASES_OUTCOMES_URL": framework_server.url}
        port = free_port()
        processes.add("intelligence", "intelligence.app:create_app", common_test_env("INTELLIGENCE", intelligence_url,
                      port) | {
            "INTELLIGENCE_OUTCOMES_URL": framework_server.url,
            "INTELLIGENCE_CASES_URL": cases.url,
            "INTELLIGENCE_CASES_CHECK_INTERVAL_SECONDS": "0.5",
            "INTELLIGENCE_CASES_RECHECK_AFTER_SECONDS": "2",
            "INTELLIGENCE_FRAMEWORK_CACHE_SECONDS": "0",
            "INTELLIGENCE_SUBSCRIBERS": "[]",
        }, tmp_path, port=port)  # fmt: skip
        try:
            processes["intelligence"].start()  # cases is not running yet
            await processes["intelligence"].wait_ready(60)
            yield processes
        finally:
            processes.stop()


async def eventually(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + 30
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value}")
        await asyncio.sleep(0.3)


def _member(h: Household, role: str, person: list[str]) -> dict[str, Any]:
    given, surname, dob, postcode, *_rest, nhs, _upn = person
    return {"role": role, "person": {"given_name": given, "family_name": surname, "date_of_birth": dob,
                                     "nhs_number": nhs, "postcode": postcode}}  # fmt: skip


async def _open_case_in_cases(cases: httpx.AsyncClient, h: Household, *, close: bool) -> None:
    parent, child = _people(h)
    body = {"name": f"{parent[1]} family", "hub": "north", "postcode": h.postcode,
            "members": [_member(h, "parent_carer", parent), _member(h, "child", child)]}  # fmt: skip
    family = await cases.post("/v1/families", json=body, headers=NORTH)
    assert family.status_code == 201, family.text
    case = await cases.post("/v1/cases", json={"family_id": family.json()["id"], "reason": "known"}, headers=NORTH)
    assert case.status_code == 201, case.text
    if close:
        path = f"/v1/cases/{case.json()['id']}"
        etag = (await cases.get(path, headers=NORTH)).headers["ETag"]
        closed = await cases.post(
            f"{path}/close", json={"outcome": "needs_met", "reason": "done"}, headers={**NORTH, "If-Match": etag}
        )
        assert closed.status_code == 200, closed.text


async def _by_surname(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get("/v1/identified-families", headers=ANALYST)
    assert response.status_code == 200, response.text
    return {f["members"][0]["family_name"]: f for f in response.json()["items"]}


def _checks(families: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {
        name: (families[name]["cases_check"], families[name]["status"])
        for name in (_people(h)[0][1] for h in (OPEN, CLOSED, UNKNOWN))
    }


async def test_families_are_checked_against_cases_and_unchecked_while_it_is_down(services: ServiceProcesses) -> None:
    open_name, closed_name, unknown_name = (_people(h)[0][1] for h in (OPEN, CLOSED, UNKNOWN))
    async with (
        httpx.AsyncClient(base_url=services["intelligence"].url, timeout=120) as intelligence,
        httpx.AsyncClient(base_url=services["cases"].url, timeout=30) as cases,
    ):
        for kind, body in datasets([OPEN, CLOSED, UNKNOWN], prefix="KNOWN").items():
            params = {"kind": kind, "source_agency": AGENCY[kind], **PROTECTION}
            response = await intelligence.post("/v1/datasets", params=params, content=body, headers=ANALYST)
            assert response.status_code == 200, response.text
        # cases is down: every family unchecked (never "not known"), the run still succeeds
        run = await intelligence.post("/v1/linkage-runs", params={"as_of": "2026-12-01"}, headers=ANALYST)
        assert run.status_code == 201, run.text
        assert (run.json()["diagnostics"]["cases_checked"], run.json()["diagnostics"]["cases_unchecked"]) == (0, 3)
        assert set(_checks(await _by_surname(intelligence)).values()) == {("unchecked", "identified")}

        services["cases"].start()
        await services["cases"].wait_ready(60)
        assert (await cases.put("/v1/hubs/north", json={"name": "North"}, headers=ADMIN)).status_code == 200
        await _open_case_in_cases(cases, OPEN, close=False)
        await _open_case_in_cases(cases, CLOSED, close=True)

        # the background loop asks again (and again once an answer is 2 s old): each family's answer, from the
        # cases API alone
        expected = {
            open_name: ("open_case", "open_case"),
            closed_name: ("case_closed", "identified"),
            unknown_name: ("not_known", "identified"),
        }
        checks = await eventually(
            lambda: _by_surname(intelligence), lambda fs: _checks(fs) == expected, "families checked against cases"
        )
        assert all(f["cases_checked_at"] for f in checks.values())
        refused = await intelligence.post(
            f"/v1/identified-families/{checks[open_name]['id']}/decision", json={"decision": "refer"}, headers=NORTH
        )
        assert refused.status_code == 409 and "open early help case" in refused.json()["detail"]
        shown = await intelligence.get("/v1/identified-families", params={"status": "open_case"}, headers=NORTH)
        assert [f["id"] for f in shown.json()["items"]] == [checks[open_name]["id"]]

        # only the intelligence service may ask; the answer is a status per person, nothing else
        query = {"people": [{"ref": "a", "given_name": "X", "family_name": "Y", "date_of_birth": "2001-01-01"}]}
        others = (make_token("service", sub="service:referrals"), make_token("hub_manager", hubs=["north"]),
                  make_token("partner_system", agency="WYP", agency_type="police"), make_token("analyst"))  # fmt: skip
        for token in others:
            assert (await cases.post("/v1/people/known", json=query, headers=auth(token))).status_code == 403
        asked = await cases.post(
            "/v1/people/known", json=query, headers=auth(make_token("service", sub="service:intelligence"))
        )
        assert asked.status_code == 200 and asked.json() == {"items": [{"ref": "a", "status": "not_known"}]}
        bad = await cases.post(
            "/v1/people/known", json={"people": []}, headers=auth(make_token("service", sub="service:intelligence"))
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/people"

        # cases down again and a new run: the open case stays shown, "not known" is asked again (unchecked)
        services["cases"].stop()
        run = await intelligence.post("/v1/linkage-runs", params={"as_of": "2026-12-02"}, headers=ANALYST)
        assert run.status_code == 201, run.text
        assert _checks(await _by_surname(intelligence)) == {
            open_name: ("open_case", "open_case"),
            closed_name: ("case_closed", "identified"),
            unknown_name: ("unchecked", "identified"),
        }
