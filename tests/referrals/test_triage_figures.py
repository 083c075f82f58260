"""Issue 22: the data team's analysts get aggregated, pseudonymised triage figures (no ids, no names), which the
cohort report needs; hub managers get their hubs'."""

from __future__ import annotations

import httpx

from tests.referrals.conftest import MatchNow, admin, create_maternity, hub_manager, partner
from tests.support import auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))


async def test_analysts_get_triage_figures_without_ids(client: httpx.AsyncClient, match_now: MatchNow) -> None:
    before = (await client.get("/v1/reports/triage", headers=ANALYST)).json()
    decided = (await create_maternity(client)).json()
    waiting = (await create_maternity(client)).json()
    await match_now()
    response = await client.post(
        f"/v1/referrals/{decided['id']}/decision", json={"outcome": "accepted", "reason": "agreed"}, headers=admin()
    )
    assert response.status_code == 200, response.text

    figures = await client.get("/v1/reports/triage", headers=ANALYST)
    assert figures.status_code == 200, figures.text
    body = figures.json()
    assert body["open_referrals"] == before["open_referrals"] + 1
    assert len(body["decisions"]) == len(before["decisions"]) + 1
    hub = decided["hub"]
    assert any(d["hub"] == hub and d["outcome"] == "accepted" and d["on_time"] for d in body["decisions"])
    assert sum(m.get(hub, 0) for m in body["accepted_by_month_hub"].values()) >= 1
    for referral in (decided, waiting):  # pseudonymised: no id, reference or name of a referral anywhere
        assert referral["id"] not in figures.text and referral["external_reference"] not in figures.text
    assert "given_name" not in figures.text and "nhs_number" not in figures.text
    assert set(body["decisions"][0]) == {"hub", "outcome", "days", "on_time"}

    other_hub = "south" if hub != "south" else "north"
    theirs = (await client.get("/v1/reports/triage", headers=hub_manager(other_hub))).json()
    assert all(d["hub"] == other_hub for d in theirs["decisions"])
    assert (await client.get("/v1/reports/triage", headers=partner())).status_code == 403
    assert (await client.get("/v1/reports/triage")).status_code == 401
