"""`GET /reports/cohort` on the gateway without services behind it: access, errors and the collection.

The route over real service processes (HTML in headless Chromium, every role, a hung outcomes service) is in
tests/docs/test_report.py; here the upstreams are unreachable or answered by respx.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from gateway.clients import Caller, OutcomesAPI, ReferralsAPI, Upstream
from gateway.errors import UpstreamError
from gateway.reports import CohortData, collect
from gateway.reports.route import problem_for
from tests.gateway.conftest import gateway_client
from tests.support import auth, make_token

ANALYST = make_token("analyst", sub="gw-analyst", agency="LCC", agency_type="council")
OUTCOMES = "http://outcomes.test"
REFERRALS = "http://referrals.test"
COHORT = {
    "programme_phase": "2022-2025",
    "families_enrolled": 3,
    "families_claimed": 1,
    "claim_rate": 0.333,
    "by_hub": [{"hub": "north", "enrolled": 3, "closed": 1, "claimed": 1, "validated": 1}],
    "by_need": [{"need": "education", "enrolled": 3, "evaluated": 3, "met": 2, "sustained": 1}],
    "by_month": [{"month": "2026-09", "enrolled": 3, "claimed": 1, "validated": 1}],
}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_no_token_is_401_and_other_roles_403() -> None:
    async with gateway_client() as client:
        response = await client.get("/reports/cohort")
        _problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        _problem(await client.get("/reports/cohort", headers=auth("not-a-jwt")), 401)
        for role in ("partner_system", "practitioner", "hub_manager", "auditor"):
            body = _problem(await client.get("/reports/cohort", headers=auth(make_token(role, sub=f"gw-{role}"))), 403)
            assert "analyst" in body["detail"]
        body = _problem(await client.get("/reports/cohort?format=pdf", headers=auth(ANALYST)), 422)
        assert body["errors"][0]["pointer"].endswith("format")


async def test_unreachable_outcomes_is_503_not_500() -> None:
    async with gateway_client() as client:  # every upstream is the discard port: connections are refused
        response = await client.get("/reports/cohort", headers=auth(ANALYST))
        body = _problem(response, 503)
        assert body["service"] == "outcomes"
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("status", "expected"), [(None, 503), (401, 401), (403, 403), (404, 502), (500, 502), (503, 503), (504, 503)]
)
def test_upstream_failures_map_to_problems(status: int | None, expected: int) -> None:
    problem = problem_for(UpstreamError("outcomes", status, "detail"))
    assert problem.status == expected
    assert problem.headers["Cache-Control"] == "no-store"
    assert problem.to_problem()["service"] == "outcomes"


async def _collect(referrals_status: int = 200) -> tuple[CohortData, respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{OUTCOMES}/v1/reports/cohort").mock(return_value=httpx.Response(200, json=COHORT))
        claims = router.get(f"{OUTCOMES}/v1/claims")
        claims.side_effect = [
            httpx.Response(200, json={"items": [{"status": "validated", "hub": "north"}], "next_cursor": "c2"}),
            httpx.Response(200, json={"items": [{"status": "rejected", "hub": None}], "next_cursor": None}),
        ]
        body: Any = {
            "decisions": [
                {"hub": "north", "outcome": "accepted", "days": 0.5, "on_time": True},
                {"hub": "south", "outcome": "signposted", "days": 7.0, "on_time": False},
            ],
            "accepted_by_month_hub": {"2026-09": {"north": 1}},
            "open_referrals": 1,
            "open_breached": 0,
        }
        if referrals_status != 200:
            body = {"status": referrals_status, "title": "Forbidden", "detail": "needs hub_manager"}
        router.get(f"{REFERRALS}/v1/reports/triage").mock(return_value=httpx.Response(referrals_status, json=body))
        outcomes, referrals_up = Upstream("outcomes", OUTCOMES), Upstream("referrals", REFERRALS)
        caller = Caller(token="tok", request_id="r1")
        try:
            data = await collect(OutcomesAPI(outcomes, caller), ReferralsAPI(referrals_up, caller))
        finally:
            await outcomes.aclose()
            await referrals_up.aclose()
        assert claims.call_count == 2
        assert claims.calls[1].request.url.params["cursor"] == "c2"
        assert all(c.request.headers["authorization"] == "Bearer tok" for c in router.calls)
        return data, router


async def test_collect_follows_pages_and_aggregates() -> None:
    data, _ = await _collect()
    assert data.cohort == COHORT
    assert data.claims_by_status == {"pending": 0, "validated": 1, "rejected": 1}
    assert data.claims_by_hub == {
        "north": {"pending": 0, "validated": 1, "rejected": 0},
        "unknown": {"pending": 0, "validated": 0, "rejected": 1},
    }
    assert data.accepted_by_month_hub == {"2026-09": {"north": 1}}
    decisions = [(d["hub"], d["days"], d["on_time"]) for d in data.decisions]
    assert decisions == [("north", 0.5, True), ("south", 7.0, False)]
    assert (data.open_referrals, data.open_breached, data.notes) == (1, 0, [])


async def test_collect_notes_referrals_it_may_not_read() -> None:
    data, _ = await _collect(referrals_status=403)
    assert data.decisions == [] and data.accepted_by_month_hub == {}
    assert len(data.notes) == 1 and "answered 403: needs hub_manager" in data.notes[0]
    assert data.claims_by_status["validated"] == 1
