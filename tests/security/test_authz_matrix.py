"""Every caller × every REST operation of the three services, checked against the running apps.

The table is `tests.security.matrix.MATRIX`; it is walked against each app's OpenAPI `paths`, so a new
endpoint without a row fails here, and docs/security.md must show the same table.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.security.conftest import SecurityWorld
from tests.security.matrix import CALLERS, MATRIX, Op, render_markdown, request_for
from tests.support import serve_asgi

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
# Callers that change shared objects go last, so an earlier caller's 404 is about scope, not a deleted object.
ORDER = ("none", "partner_system", "practitioner", "hub_manager", "analyst", "auditor", "admin")


def _operations(client: httpx.AsyncClient, service: str) -> set[Op]:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    methods = {"get", "post", "put", "patch", "delete"}
    return {(service, m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in methods}


async def test_every_operation_has_a_row(
    referrals: httpx.AsyncClient, cases: httpx.AsyncClient, outcomes: httpx.AsyncClient
) -> None:
    live = _operations(referrals, "referrals") | _operations(cases, "cases") | _operations(outcomes, "outcomes")
    missing = sorted(live - MATRIX.keys())
    stale = sorted(MATRIX.keys() - live)
    assert not missing, f"operations without a row in the authorisation matrix: {missing}"
    assert not stale, f"rows for operations that no longer exist: {stale}"
    assert all(set(cells) == set(CALLERS) for cells in MATRIX.values())


def test_docs_show_the_matrix() -> None:
    assert render_markdown() in DOC.read_text(), "regenerate the table: python -m tests.security.matrix"


def _ok(expected: str, response: httpx.Response) -> bool:
    status = response.status_code
    if status >= 500:
        return False
    if expected == "ok":
        return status not in (401, 403)
    if expected == "public":
        return status == 200
    if expected == "sig":
        return status == 401
    return status == int(expected)


async def test_every_cell(
    world: SecurityWorld, referrals: httpx.AsyncClient, cases: httpx.AsyncClient, outcomes: httpx.AsyncClient
) -> None:
    clients = {"referrals": referrals, "cases": cases, "outcomes": outcomes}
    wrong: list[str] = []
    checked = 0
    # referrals asks cases for its hubs when a hub mapping is loaded: the real cases app, served over HTTP
    settings = referrals.app.state.settings  # type: ignore[attr-defined]
    before = settings.cases_url
    async with serve_asgi(cases.app) as cases_url:  # type: ignore[attr-defined]
        settings.cases_url = cases_url
        try:
            checked, wrong = await _every_cell(world, clients)
        finally:
            settings.cases_url = before
    assert checked == len(MATRIX) * len(CALLERS)
    assert not wrong, "authorisation matrix mismatches:\n" + "\n".join(wrong)


async def _every_cell(world: SecurityWorld, clients: dict[str, httpx.AsyncClient]) -> tuple[int, list[str]]:
    wrong: list[str] = []
    checked = 0
    for caller in ORDER:
        headers = world.caller(caller)
        for op, cells in MATRIX.items():
            request = request_for(op, world.ids)
            request["headers"] = {**request["headers"], **headers}
            response = await clients[op[0]].request(**request)
            checked += 1
            if not _ok(cells[caller], response):
                wrong.append(
                    f"{caller:>14} {op[1]} {op[0]}{op[2]}: want {cells[caller]}, got {response.status_code}"
                    f" {response.text[:120]}"
                )
            if response.status_code in (401, 403, 404):
                kind = response.headers["content-type"]
                fhir = op[2].startswith("/fhir") and kind.startswith("application/fhir+json")  # OperationOutcome
                assert kind.startswith("application/problem+json") or fhir, op
    return checked, wrong
