"""Object-level access (OWASP API1, BOLA): every id is checked against the caller's agency, hub or caseload.

Each refusal is paired with the owner's success on the same object, so a 404 cannot come from a typo.
"""

from __future__ import annotations

import httpx

from tests.referrals.conftest import create_maternity, partner
from tests.security.conftest import OUTSIDER_AGENCY, OWNER_AGENCY, SecurityWorld
from tests.support import auth, make_token

SENSITIVE = "Disclosed domestic abuse by ex-partner — do not share"
ROUTINE = "Home visit, morning routine discussed"


async def test_partner_gets_404_for_another_agencys_referrals_and_webhooks(
    referrals: httpx.AsyncClient, world: SecurityWorld
) -> None:
    owner, other = partner(OWNER_AGENCY), partner(OUTSIDER_AGENCY)
    rid, wid = world.ids["referral_id"], world.ids["webhook_id"]
    assert (await referrals.get(f"/v1/referrals/{rid}", headers=owner)).status_code == 200
    assert (await referrals.get(f"/v1/webhooks/{wid}/deliveries", headers=owner)).status_code == 200

    for method, url in (
        ("GET", f"/v1/referrals/{rid}"),
        ("POST", f"/v1/referrals/{rid}/withdraw"),
        ("GET", f"/v1/webhooks/{wid}/deliveries"),
        ("DELETE", f"/v1/webhooks/{wid}"),
    ):
        response = await referrals.request(method, url, headers=other)
        assert response.status_code == 404, (method, url, response.text)
        assert OWNER_AGENCY not in response.text
    # lists and batch lookups leave the other agency's objects out, whatever the filter says
    mine = (await create_maternity(referrals, headers=other)).json()["id"]
    listed = await referrals.get("/v1/referrals", params={"ids": f"{rid},{mine}"}, headers=other)
    assert [r["id"] for r in listed.json()["items"]] == [mine]
    by_agency = await referrals.get("/v1/referrals", params={"agency": OWNER_AGENCY}, headers=other)
    assert by_agency.json()["items"] == []
    assert (await referrals.get("/v1/webhooks", headers=other)).json()["items"] == []
    # the owner's webhook survived the other agency's DELETE
    assert [w["id"] for w in (await referrals.get("/v1/webhooks", headers=owner)).json()["items"]] == [wid]


async def test_practitioner_outside_caseload_and_team_cannot_read_the_family(
    cases: httpx.AsyncClient, world: SecurityWorld
) -> None:
    outsider = world.caller("practitioner")
    family_id, case_id, person_id = world.ids["family_id"], world.ids["case_id"], world.ids["person_id"]
    for headers in (world.lead(), world.team()):
        assert (await cases.get(f"/v1/families/{family_id}", headers=headers)).status_code == 200
        assert (await cases.get(f"/v1/cases/{case_id}", headers=headers)).status_code == 200
    for url in (f"/v1/families/{family_id}", f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/plan",
                f"/v1/cases/{case_id}/lead-worker/history"):  # fmt: skip
        response = await cases.get(url, headers=outsider)
        assert response.status_code == 404, (url, response.text)
    for url, params in (
        ("/v1/families", {"ids": family_id}),
        ("/v1/families", {}),
        ("/v1/cases", {"ids": case_id}),
        ("/v1/cases", {"family_ids": family_id}),
        ("/v1/plans", {"case_ids": case_id}),
        ("/v1/people", {"ids": person_id}),
    ):
        response = await cases.get(url, params=params, headers=outsider)
        assert response.status_code == 200 and response.json()["items"] == [], (url, params, response.text)
    # writing is refused the same way
    response = await cases.post(
        f"/v1/cases/{case_id}/contacts",
        json={"kind": "visit", "occurred_at": "2026-01-05T10:00:00Z", "note": "x"},
        headers=outsider,
    )
    assert response.status_code == 404
    # a hub manager of another hub is an outsider too
    south = world.caller("hub_manager")
    assert (await cases.get(f"/v1/families/{family_id}", headers=south)).status_code == 404
    assert (await cases.get(f"/v1/families/{family_id}", headers=world.manager())).status_code == 200


async def _notes(cases: httpx.AsyncClient, world: SecurityWorld) -> None:
    for note, sensitive in ((ROUTINE, False), (SENSITIVE, True)):
        response = await cases.post(
            f"/v1/cases/{world.ids['case_id']}/contacts",
            json={"kind": "visit", "occurred_at": "2026-01-05T10:00:00Z", "note": note, "sensitive": sensitive},
            headers=world.lead(),
        )
        assert response.status_code == 201, response.text


async def test_sensitive_notes_only_for_the_lead_worker_and_hub_managers(
    cases: httpx.AsyncClient, world: SecurityWorld
) -> None:
    await _notes(cases, world)
    case_id = world.ids["case_id"]

    async def notes(headers: dict[str, str]) -> set[str]:
        seen: set[str] = set()
        for url, params in ((f"/v1/cases/{case_id}/contacts", {}), ("/v1/contacts", {"case_ids": case_id})):
            response = await cases.get(url, params=params, headers=headers)
            if response.status_code == 404 and url.startswith("/v1/cases/"):
                continue  # a case the caller cannot see is not disclosed (finding F3); the batch form lists nothing
            assert response.status_code == 200, response.text
            seen |= {c["note"] for c in response.json()["items"]}
        return seen

    assert await notes(world.lead()) == {ROUTINE, SENSITIVE}
    assert await notes(world.manager()) == {ROUTINE, SENSITIVE}
    assert await notes(world.team()) == {ROUTINE}
    assert await notes(world.caller("practitioner")) == set()
    assert await notes(world.caller("hub_manager")) == set()
    outsider = await cases.get(f"/v1/cases/{case_id}/contacts", headers=world.caller("practitioner"))
    assert outsider.status_code == 404


async def test_analyst_and_others_never_see_case_notes(
    cases: httpx.AsyncClient, outcomes: httpx.AsyncClient, world: SecurityWorld
) -> None:
    await _notes(cases, world)
    case_id = world.ids["case_id"]
    for role in ("analyst", "auditor", "partner_system", "admin"):
        headers = world.caller(role)
        for url, params in ((f"/v1/cases/{case_id}/contacts", {}), ("/v1/contacts", {"case_ids": case_id})):
            response = await cases.get(url, params=params, headers=headers)
            assert response.status_code == 403, (role, url)
            assert SENSITIVE not in response.text and ROUTINE not in response.text
    # what an analyst can read in outcomes holds no note text
    analyst = auth(make_token("analyst", agency="LCC", agency_type="council"))
    for url in ("/v1/reports/cohort", "/v1/claims", f"/v1/progress?family_ids={world.ids['family_id']}"):
        response = await outcomes.get(url, headers=analyst)
        assert response.status_code == 200, (url, response.text)
        assert SENSITIVE not in response.text and ROUTINE not in response.text
