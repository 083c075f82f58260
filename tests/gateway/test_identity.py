"""The identity fields of the graph (issue 17) against the referrals and cases services running as real processes.

Tyler Brook's referral carries the UPN of Zoë O'Neill: the gateway shows the pupil in `identityReviews` with the
conflicting candidate explained field by field, `Referral.identities` says CANDIDATES, and `confirmIdentity`
declaring a new person turns it into NEW_PERSON. Two records of one household are merged with `mergeFamilies`,
seen in `Family.merges`, and restored with `undoFamilyMerge`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cases.test_e2e_identity import family, referral
from tests.conftest import template_name
from tests.gateway.conftest import gateway_client, gql
from tests.support import auth, make_token, referrals_and_cases
from tests.support.factories import upn as make_upn

pytestmark = pytest.mark.e2e

SCHOOL = auth(make_token("partner_system", sub="gw-school", agency="SCH-LS-001", agency_type="school"))
MANAGER_TOKEN = make_token(
    "hub_manager", sub="gw-identity-manager", agency="LCC", agency_type="council", hubs=["north", "central", "south"]
)
MANAGER = auth(MANAGER_TOKEN)
ADMIN = auth(make_token("admin", sub="gw-identity-admin", agency="LCC", agency_type="council"))

IDENTITY = """
fragment Candidates on MatchCandidate { score band conflict fields { field level weight explanation } person { id } }
query($id: ID!) {
  referral(id: $id) { identities { ref status confirmedBy reason candidates { ...Candidates } } }
  identityReviews(first: 50) { edges { node { referralId ref conflict candidates { ...Candidates } } } }
}
"""
CONFIRM = """
mutation($id: ID!, $ref: String!, $person: ID, $reason: String) {
  confirmIdentity(referralId: $id, ref: $ref, personId: $person, reason: $reason) {
    referral { identities { ref status confirmedBy reason } }
    userErrors { field message code }
  }
}
"""
MERGE = """
mutation($id: ID!, $other: ID!) {
  mergeFamilies(familyId: $id, input: {mergeFamilyId: $other, reason: "One household recorded twice"}) {
    merge { id survivorId mergedId mergedBy undoneAt survivor { id } }
    userErrors { field message code }
  }
}
"""
UNDO = """
mutation($id: ID!) {
  undoFamilyMerge(mergeId: $id, reason: "Two households after all") {
    merge { id undoneAt undoneBy undoReason }
    userErrors { field message code }
  }
}
"""
MERGES = "query($id: ID!) { family(id: $id) { merges { id mergedId reason undoneAt } } }"


class Services:
    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.client, self.urls = client, urls

    async def call(self, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("headers", MANAGER)
        return await self.client.request(method, f"{self.urls[service]}{path}", **kw)

    async def family(self, body: dict[str, Any]) -> str:
        hub = await self.call("cases", "PUT", f"/v1/hubs/{body['hub']}", json={"name": "North"}, headers=ADMIN)
        assert hub.status_code == 200, hub.text
        created = await self.call("cases", "POST", "/v1/families", json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def refer(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {**SCHOOL, "Idempotency-Key": uuid.uuid4().hex}
        created = await self.call("referrals", "POST", "/v1/referrals/school", json=body, headers=headers)
        assert created.status_code == 201, created.text
        found = (await self.call("referrals", "GET", f"/v1/referrals/{created.json()['id']}")).json()
        assert found["matching"] == "completed", found
        return dict(found)


@pytest.fixture(scope="module")
async def services(
    server_url: str, referrals_db: str, cases_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Services]:
    log_dir: Path = tmp_path_factory.mktemp("gateway-identity")
    async with (
        referrals_and_cases(server_url, template_name, log_dir, subscribed=False, timeout=120) as urls,
        httpx.AsyncClient(timeout=30) as client,
    ):
        yield Services(client, urls)


async def test_triage_sees_the_conflict_explained_and_declares_a_new_person(services: Services) -> None:
    upn = make_upn(2717)
    zoe = {"given_name": "Zoë", "family_name": "O'Neill", "date_of_birth": "2015-04-02", "upn": upn}
    mum = {"given_name": "Siobhan", "family_name": "O'Neill", "date_of_birth": "1986-02-11"}
    await services.family(family("O'Neill", "LS7 3QB", zoe, mum))
    tyler = {"given_name": "Tyler", "family_name": "Brook", "date_of_birth": "2012-09-14", "postcode": "LS11 5QA",
             "upn": upn}  # fmt: skip
    kerry = {"given_name": "Kerry", "family_name": "Brook", "date_of_birth": "1984-06-30"}
    found = await services.refer(referral(tyler, kerry))

    async with gateway_client(referrals_url=services.urls["referrals"], cases_url=services.urls["cases"]) as gw:
        body = await gql(gw, IDENTITY, {"id": found["id"]}, token=MANAGER_TOKEN)
        assert "errors" not in body, body
        pupil = next(i for i in body["data"]["referral"]["identities"] if i["ref"] == "pupil")
        assert pupil["status"] == "CANDIDATES"
        [candidate] = pupil["candidates"]
        assert candidate["band"] == "CONFLICT" and "UPN agrees" in candidate["conflict"]
        assert {f["field"]: f["level"] for f in candidate["fields"]}["upn"] == "agree"
        assert all(f["explanation"] for f in candidate["fields"])
        reviews = [e["node"] for e in body["data"]["identityReviews"]["edges"]]
        [waiting] = [r for r in reviews if r["referralId"] == found["id"]]
        assert waiting["ref"] == "pupil" and waiting["conflict"] is True
        assert waiting["candidates"][0]["person"]["id"] == candidate["person"]["id"]

        missing = await gql(gw, CONFIRM, {"id": found["id"], "ref": "pupil"}, token=MANAGER_TOKEN)
        refused = missing["data"]["confirmIdentity"]
        assert refused["referral"] is None
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [("/reason", "INVALID")]

        reason = "Not Zoë: the school mistyped the UPN"
        declared = await gql(gw, CONFIRM, {"id": found["id"], "ref": "pupil", "reason": reason}, token=MANAGER_TOKEN)
        answer = declared["data"]["confirmIdentity"]
        assert answer["userErrors"] == []
        pupil = next(i for i in answer["referral"]["identities"] if i["ref"] == "pupil")
        assert pupil == {"ref": "pupil", "status": "NEW_PERSON", "confirmedBy": "gw-identity-manager", "reason": reason}
        after = await gql(gw, IDENTITY, {"id": found["id"]}, token=MANAGER_TOKEN)
        assert found["id"] not in {e["node"]["referralId"] for e in after["data"]["identityReviews"]["edges"]}


async def test_a_family_recorded_twice_is_merged_listed_and_restored(services: Services) -> None:
    child = {"given_name": "Ruby", "family_name": "Dale", "date_of_birth": "2017-05-01"}
    dad = {"given_name": "Owen", "family_name": "Dale", "date_of_birth": "1985-01-20"}
    survivor = await services.family(family("Dale", "LS6 1AA", child, dad))
    duplicate = await services.family(family("Dale", "LS6 1AA", {**child, "given_name": "Rubie"}, dad))

    async with gateway_client(referrals_url=services.urls["referrals"], cases_url=services.urls["cases"]) as gw:
        itself = await gql(gw, MERGE, {"id": survivor, "other": survivor}, token=MANAGER_TOKEN)
        assert [e["code"] for e in itself["data"]["mergeFamilies"]["userErrors"]] == ["INVALID"]

        merged = await gql(gw, MERGE, {"id": survivor, "other": duplicate}, token=MANAGER_TOKEN)
        merge = merged["data"]["mergeFamilies"]["merge"]
        assert merged["data"]["mergeFamilies"]["userErrors"] == []
        assert (merge["survivorId"], merge["mergedId"]) == (survivor, duplicate)
        assert merge["mergedBy"] == "gw-identity-manager@LCC" and merge["undoneAt"] is None
        assert merge["survivor"] == {"id": survivor}
        again = await gql(gw, MERGE, {"id": survivor, "other": duplicate}, token=MANAGER_TOKEN)
        assert [e["code"] for e in again["data"]["mergeFamilies"]["userErrors"]] == ["CONFLICT"]

        history = await gql(gw, MERGES, {"id": survivor}, token=MANAGER_TOKEN)
        assert history["data"]["family"]["merges"] == [
            {"id": merge["id"], "mergedId": duplicate, "reason": "One household recorded twice", "undoneAt": None}
        ]

        undone = await gql(gw, UNDO, {"id": merge["id"]}, token=MANAGER_TOKEN)
        restored = undone["data"]["undoFamilyMerge"]["merge"]
        assert restored["undoneAt"] is not None and restored["undoneBy"] == "gw-identity-manager@LCC"
        assert restored["undoReason"] == "Two households after all"
        twice = await gql(gw, UNDO, {"id": merge["id"]}, token=MANAGER_TOKEN)
        assert [e["code"] for e in twice["data"]["undoFamilyMerge"]["userErrors"]] == ["CONFLICT"]
        history = await gql(gw, MERGES, {"id": survivor}, token=MANAGER_TOKEN)
        assert history["data"]["family"]["merges"][0]["undoneAt"] is not None
