"""End to end, real processes (issue 17): triage confirms who a referred child is before a case is opened.

Tyler Brook's referral carries the UPN of Zoë O'Neill: a conflict, never a link, and accepting it before triage
decides is a 409; declared a new person, Tyler gets a family of his own and the O'Neill family is untouched.
"Hariet Hortin" is a possible match for Harriet Horton: confirmed at triage, the referral joins the Horton family's
open case instead of making a duplicate person and a second family.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import template_name
from tests.support import auth, make_token, referrals_and_cases
from tests.support.factories import upn as make_upn

pytestmark = pytest.mark.e2e

SCHOOL = auth(make_token("partner_system", sub="sys-school", agency="SCH-LS-001", agency_type="school"))
MANAGER = auth(
    make_token(
        "hub_manager", sub="e2e-manager", agency="LCC", agency_type="council", hubs=["north", "central", "south"]
    )
)

ADMIN = auth(make_token("admin", sub="e2e-admin", agency="LCC", agency_type="council"))


def referral(pupil: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    return {
        "external_reference": f"SCH-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "Ms Ada Lovelace", "role": "designated safeguarding lead"},
        "needs": ["education"],
        "reason": "Attendance has fallen below 80% this term.",
        "consent": {"given": True, "given_by": parent["given_name"], "method": "verbal",
                    "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
        "school_urn": "107950",
        "pupil": {**pupil, "year_group": 6},
        "parents": [parent],
        "attendance": {"current_term_percent": 78.5, "last_three_terms_percent": [88.0, 91.2, 85.0],
                       "unauthorised_absence_sessions": 14},
        "suspensions_this_year": 0, "permanently_excluded": False, "sen_status": "none", "transition": False,
    }  # fmt: skip


def family(name: str, postcode: str, child: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{name} family",
        "hub": "north",
        "postcode": postcode,
        "members": [
            {"role": "parent_carer", "person": {**parent, "postcode": postcode}},
            {"role": "child", "person": {**child, "postcode": postcode}},
        ],
    }


class Platform:
    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.client, self.urls = client, urls

    async def call(self, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("headers", MANAGER)
        return await self.client.request(method, f"{self.urls[service]}{path}", **kw)

    async def family_with_case(self, body: dict[str, Any]) -> tuple[str, str]:
        hub = await self.call("cases", "PUT", f"/v1/hubs/{body['hub']}", json={"name": "North"}, headers=ADMIN)
        assert hub.status_code == 200, hub.text
        created = await self.call("cases", "POST", "/v1/families", json=body)
        assert created.status_code == 201, created.text
        case = await self.call(
            "cases", "POST", "/v1/cases", json={"family_id": created.json()["id"], "reason": "attendance"}
        )
        assert case.status_code == 201, case.text
        return created.json()["id"], case.json()["id"]

    async def refer(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {**SCHOOL, "Idempotency-Key": uuid.uuid4().hex}
        created = await self.call("referrals", "POST", "/v1/referrals/school", json=body, headers=headers)
        assert created.status_code == 201, created.text
        found = (await self.call("referrals", "GET", f"/v1/referrals/{created.json()['id']}")).json()
        assert found["matching"] == "completed", found
        return dict(found)

    async def accept(self, referral_id: str) -> httpx.Response:
        body = {"outcome": "accepted", "reason": "The family wants help"}
        return await self.call("referrals", "POST", f"/v1/referrals/{referral_id}/decision", json=body)

    async def confirm(self, referral_id: str, ref: str, body: dict[str, Any]) -> httpx.Response:
        return await self.call("referrals", "PUT", f"/v1/referrals/{referral_id}/people/{ref}/identity", json=body)

    async def case_of(self, referral_id: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = (await self.call("referrals", "GET", f"/v1/referrals/{referral_id}")).json()
            if found.get("case_id"):
                return found
            await asyncio.sleep(0.2)
        raise AssertionError(f"no case for referral {referral_id}: {found}")

    async def members(self, family_id: str) -> set[tuple[str, str]]:
        got = (await self.call("cases", "GET", f"/v1/families/{family_id}")).json()
        return {(m["person"]["given_name"], m["person"]["family_name"]) for m in got["members"] if m["person"]}


@pytest.fixture
async def platform(server_url: str, referrals_db: str, cases_db: str, tmp_path: Path) -> AsyncIterator[Platform]:
    async with (
        referrals_and_cases(server_url, template_name, tmp_path) as urls,
        httpx.AsyncClient(timeout=10) as client,
    ):
        yield Platform(client, urls)


async def test_tyler_carrying_zoes_upn_is_a_conflict_and_never_joins_her_family(platform: Platform) -> None:
    upn = make_upn(1717)
    zoe = {"given_name": "Zoë", "family_name": "O'Neill", "date_of_birth": "2015-04-02", "upn": upn}
    mum = {"given_name": "Siobhan", "family_name": "O'Neill", "date_of_birth": "1986-02-11"}
    oneill_family, _ = await platform.family_with_case(family("O'Neill", "LS7 3QB", zoe, mum))

    tyler = {"given_name": "Tyler", "family_name": "Brook", "date_of_birth": "2012-09-14", "postcode": "LS11 5QA",
             "upn": upn}  # fmt: skip
    found = await platform.refer(referral(tyler, {"given_name": "Kerry", "family_name": "Brook",
                                                  "date_of_birth": "1984-06-30"}))  # fmt: skip
    pupil = next(p for p in found["people"] if p["ref"] == "pupil")
    assert pupil["match"]["status"] == "candidates" and pupil["match"]["matched_person_id"] is None
    [candidate] = pupil["match"]["candidates"]
    assert candidate["band"] == "conflict" and "UPN agrees" in candidate["conflict"]
    assert {f["field"]: f["level"] for f in candidate["fields"]}["upn"] == "agree"

    queue = (await platform.call("referrals", "GET", "/v1/identity-reviews")).json()["items"]
    [waiting] = [i for i in queue if i["referral_id"] == found["id"]]
    assert waiting["ref"] == pupil["ref"] and waiting["conflict"] is True
    assert waiting["candidates"][0]["person"]["given_name"] == "Zoë"

    refused = await platform.accept(found["id"])
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert f"{pupil['ref']} (conflict)" in refused.json()["detail"]

    missing_reason = await platform.confirm(found["id"], pupil["ref"], {"person_id": None})
    assert missing_reason.status_code == 422
    assert [e["pointer"] for e in missing_reason.json()["errors"]] == ["/reason"]
    stranger = await platform.confirm(found["id"], pupil["ref"], {"person_id": str(uuid.uuid4())})
    assert stranger.status_code == 404
    declared = await platform.confirm(
        found["id"], pupil["ref"], {"person_id": None, "reason": "Not Zoë: the school mistyped the UPN"}
    )
    assert declared.status_code == 200, declared.text
    match = next(p for p in declared.json()["people"] if p["ref"] == pupil["ref"])["match"]
    assert match["status"] == "new_person" and match["confirmed_by"] == "e2e-manager"
    queue = (await platform.call("referrals", "GET", "/v1/identity-reviews")).json()["items"]
    assert found["id"] not in {i["referral_id"] for i in queue}

    assert (await platform.accept(found["id"])).status_code == 200
    accepted = await platform.case_of(found["id"])
    assert accepted["family_id"] != oneill_family
    assert ("Tyler", "Brook") in await platform.members(accepted["family_id"])
    assert await platform.members(oneill_family) == {("Zoë", "O'Neill"), ("Siobhan", "O'Neill")}


async def test_hariet_hortin_confirmed_at_triage_joins_the_horton_familys_open_case(platform: Platform) -> None:
    harriet = {"given_name": "Harriet", "family_name": "Horton", "date_of_birth": "2016-03-09"}
    dad = {"given_name": "Gareth", "family_name": "Horton", "date_of_birth": "1982-10-21"}
    horton_family, horton_case = await platform.family_with_case(family("Horton", "LS8 2PQ", harriet, dad))
    people = (await platform.call("cases", "GET", f"/v1/families/{horton_family}")).json()["members"]
    harriet_id = next(m["person"]["id"] for m in people if m["person"]["given_name"] == "Harriet")

    hariet = {"given_name": "Hariet", "family_name": "Hortin", "date_of_birth": "2016-03-09", "postcode": "LS8 2PQ",
              "upn": make_upn(1718)}  # fmt: skip
    found = await platform.refer(referral(hariet, {**dad, "postcode": "LS8 2PQ"}))
    pupil = next(p for p in found["people"] if p["ref"] == "pupil")
    assert pupil["match"]["status"] == "candidates"
    top = pupil["match"]["candidates"][0]
    assert top["person"]["id"] == harriet_id and top["band"] == "review"
    assert (await platform.accept(found["id"])).status_code == 409

    confirmed = await platform.confirm(found["id"], pupil["ref"], {"person_id": harriet_id})
    assert confirmed.status_code == 200, confirmed.text
    assert (await platform.accept(found["id"])).status_code == 200
    accepted = await platform.case_of(found["id"])
    assert (accepted["family_id"], accepted["case_id"]) == (horton_family, horton_case)
    assert await platform.members(horton_family) == {("Harriet", "Horton"), ("Gareth", "Horton")}
