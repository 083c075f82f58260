"""The object-level authorisation matrix (OWASP API1), every cell driven through the REST API.

The table is `tests.security.object_matrix.OBJECT_MATRIX`; docs/security.md must show the same table. The
changes are harmless to repeat (an unborn member joins, the plan gets a new version, the same assessment and
the same team are written again, a merge meets the 409 of a duplicate already merged), so every relation runs
against the one world and an allowed change by one caller does not change the next caller's answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.cases.conftest import ASSESSMENT, plan_body
from tests.referrals.conftest import partner
from tests.security.conftest import OWNER_AGENCY, SecurityWorld
from tests.security.object_matrix import OBJECT_MATRIX, OPERATIONS, RELATIONS, Row, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_docs_show_the_object_matrix() -> None:
    assert render_markdown() in DOC.read_text(), "regenerate the table: python -m tests.security.object_matrix"
    assert OBJECT_MATRIX.keys() == OPERATIONS.keys()


def _callers(world: SecurityWorld) -> dict[str, dict[str, str]]:
    return {
        "lead": world.lead(),
        "team": world.team(),
        "manager": world.manager(),
        "other_manager": world.caller("hub_manager"),
        "practitioner": world.caller("practitioner"),
        "submitter": partner(OWNER_AGENCY),
        "analyst": world.caller("analyst"),
        "admin": world.caller("admin"),
    }


async def _merged_duplicate(cases: httpx.AsyncClient, world: SecurityWorld) -> str:
    """A duplicate of the world's person, already merged into them by the hub's manager."""
    # recorded again in the same family (people of two families are merged family first)
    before = {
        m["person"]["id"]
        for m in (await cases.get(f"/v1/families/{world.ids['family_id']}", headers=world.manager())).json()["members"]
    }
    person = {"given_name": "Jane", "family_name": "Dup", "date_of_birth": "1988-05-01", "postcode": "LS1 4AB"}
    response = await cases.post(
        f"/v1/families/{world.ids['family_id']}/members",
        json={"role": "parent_carer", "person": person},
        headers=world.manager(),
    )
    assert response.status_code == 201, response.text
    duplicate = next(m["person"]["id"] for m in response.json()["members"] if m["person"]["id"] not in before)
    merged = await cases.post(
        f"/v1/people/{world.ids['person_id']}/merge",
        json={"merge_person_id": duplicate, "reason": "same person"},
        headers=world.manager(),
    )
    assert merged.status_code == 201, merged.text
    return str(duplicate)


def _request(row: Row, ids: dict[str, str], duplicate: str, team: list[dict[str, str]]) -> dict[str, Any]:
    service_method_path = OPERATIONS[row].split(" ", 2)
    method, path = service_method_path[1], service_method_path[2]
    url, _, query = path.format(**ids).partition("?")
    request: dict[str, Any] = {"method": method, "url": url, "params": dict([query.split("=")]) if query else {}}
    bodies: dict[Row, Any] = {
        ("family", "change members"): {"role": "unborn", "expected_on": "2027-04-01"},
        ("person", "merge a duplicate into"): {"merge_person_id": duplicate, "reason": "matrix"},
        ("assessment", "record"): ASSESSMENT,
        ("plan", "write"): plan_body(summary="matrix"),
        ("team around the family", "change"): {"team": team, "reason": "matrix: the same team"},
        ("contact", "add"): {"kind": "visit", "occurred_at": "2026-11-20T10:00:00Z", "note": "matrix"},
    }
    if row in bodies:
        request["json"] = bodies[row]
    if row in (("plan", "write"), ("team around the family", "change")):
        request["headers"] = {"If-Match": "*"}
    return request


def _cell(row: Row, response: httpx.Response) -> str:
    if response.status_code == 403:
        return "no"
    if response.status_code == 404:
        return "hidden"
    if row == ("person", "see") and response.status_code == 200:
        return "yes" if response.json()["items"] else "hidden"
    if response.status_code in (401, 405) or response.status_code >= 500:
        return f"unexpected {response.status_code}"
    return "yes"


async def test_every_object_cell(world: SecurityWorld, cases: httpx.AsyncClient, outcomes: httpx.AsyncClient) -> None:
    clients = {"cases": cases, "outcomes": outcomes}
    duplicate = await _merged_duplicate(cases, world)
    team = (await cases.get(f"/v1/cases/{world.ids['case_id']}/team", headers=world.lead())).json()["team"]
    assert len(team) == 1
    wrong: list[str] = []
    for relation, headers in _callers(world).items():
        for row, expected in OBJECT_MATRIX.items():
            request = _request(row, world.ids, duplicate, team)
            request["headers"] = {**request.get("headers", {}), **headers}
            response = await clients[OPERATIONS[row].split(" ")[0]].request(**request)
            got = _cell(row, response)
            if got != expected[relation]:
                wrong.append(f"{relation:>13} {row}: want {expected[relation]}, got {got} {response.text[:160]}")
            if response.status_code in (403, 404):
                assert response.headers["content-type"].startswith("application/problem+json"), (relation, row)
    assert set(RELATIONS) == set(_callers(world))
    assert not wrong, "object matrix mismatches:\n" + "\n".join(wrong)
    # the allowed changes left the world as it was where it matters: the same team, the lead still leads
    after = (await cases.get(f"/v1/cases/{world.ids['case_id']}/team", headers=world.lead())).json()["team"]
    assert after == team
