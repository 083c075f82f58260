"""Need-to-know for practitioners (issue 19, finding B): a practitioner sees the referrals of the families they
lead or are in the team around — as the real cases service decides, asked with their own token — and the referrals
they submitted themselves; every other referral is the 404 of an unknown id, for reading, listing and withdrawing.
When cases does not answer, a read that depends on it is refused (503), never answered from a guess.

The cases app here is the real one (on a committed clone of its migrated database, dropped afterwards), served on
a loopback port that the referrals app (on its own clone) is configured to call."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from shared.events import CloudEvent, sign_headers
from shared.settings import DEV_EVENT_SECRET
from tests.cases.conftest import FrameworkServer, World, assign, framework_server, make_world, open_family_case
from tests.referrals.conftest import SCHOOL, create_maternity, create_partner, create_school, dead_url, partner, person
from tests.support import app_client, auth, make_token, serve_asgi

__all__ = ["framework_server"]


@dataclass
class Stack:
    referrals: httpx.AsyncClient
    cases: httpx.AsyncClient
    cases_url: str
    world: World


@pytest.fixture
async def stack(
    fresh_cases_db: str,
    fresh_referrals_db: str,
    framework_server: FrameworkServer,
) -> AsyncIterator[Stack]:
    from cases.app import create_app as create_cases
    from cases.config import Settings as CasesSettings
    from referrals.app import create_app as create_referrals
    from referrals.config import Settings as ReferralsSettings

    # both on committed clones with their own pools: intake's person matching calls cases concurrently, and the
    # gateway calls referrals concurrently
    async with app_client(
        create_cases, CasesSettings, fresh_cases_db, outcomes_url=framework_server.url, rate_limit_per_second=0
    ) as cases:
        async with cases.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            world = await make_world(session)
        async with (
            serve_asgi(cases.app) as cases_url,  # type: ignore[attr-defined]
            app_client(
                create_referrals,
                ReferralsSettings,
                fresh_referrals_db,
                cases_url=cases_url,
                outcomes_url=dead_url(),
                match_retry_interval=0,
                rate_limit_per_second=0,
            ) as referrals,
        ):
            yield Stack(referrals, cases, cases_url, world)


def practitioner(sub: str) -> dict[str, str]:
    return auth(make_token("practitioner", sub=sub, agency="LCC", agency_type="council"))


async def link_to_family(referrals: httpx.AsyncClient, referral_id: str, family_id: str, case_id: str) -> None:
    """`case.opened` from cases, as its relay delivers it: the referral now belongs to the family."""
    data = {"case_id": case_id, "family_id": family_id, "hub": "north", "referral_id": referral_id}
    event = CloudEvent(
        id=str(uuid.uuid4()), source="urn:earlyhelp:cases", type="case.opened", time=datetime.now(UTC), data=data
    )
    body = event.model_dump_json()
    headers = {"content-type": "application/cloudevents+json", **sign_headers(DEV_EVENT_SECRET, event.id, body)}
    response = await referrals.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def family_with_lead(stack: Stack) -> tuple[str, str]:
    """A north family whose case `world.lead` leads (who is in the team around a family is for cases to say,
    through the same `GET /v1/families` this asks)."""
    world, cases = stack.world, stack.cases
    family_id, case_id = await open_family_case(cases, world)
    assert (await assign(cases, world, case_id, world.lead)).status_code == 201
    return family_id, case_id


async def test_practitioners_see_their_families_and_their_own_submissions_only(stack: Stack) -> None:
    referrals, world = stack.referrals, stack.world
    family_id, case_id = await family_with_lead(stack)
    school = await create_school(referrals, headers=partner(**SCHOOL))
    assert school.status_code == 201, school.text
    theirs = school.json()["id"]
    await link_to_family(referrals, theirs, family_id, case_id)
    # another council practitioner's own referral (same agency LCC, another `sub`), not linked to any family
    outsider_sub = f"outsider-{uuid.uuid4().hex[:8]}"
    own = await create_maternity(referrals, headers=practitioner(outsider_sub), key=None)
    assert own.status_code == 201, own.text
    own_id = own.json()["id"]

    lead, colleague, outsider = (
        world.practitioner(world.lead), world.practitioner(world.other), practitioner(outsider_sub)
    )  # fmt: skip
    # the lead worker reads the family's referral; practitioners of the same agency and hub who do not work with
    # the family get the 404 of an unknown id
    assert (await referrals.get(f"/v1/referrals/{theirs}", headers=lead)).status_code == 200
    assert (await referrals.get(f"/v1/referrals/{theirs}", headers=colleague)).status_code == 404
    refused = await referrals.get(f"/v1/referrals/{theirs}", headers=outsider)
    assert refused.status_code == 404
    assert refused.json()["detail"] == f"No referral {theirs} that you can see"
    assert (await referrals.get(f"/fhir/ServiceRequest/{theirs}", headers=outsider)).status_code == 404
    # a practitioner's own submission is theirs; the agency alone does not open it to every council worker
    assert (await referrals.get(f"/v1/referrals/{own_id}", headers=outsider)).status_code == 200
    assert (await referrals.get(f"/v1/referrals/{own_id}", headers=lead)).status_code == 404

    async def listed(headers: dict[str, str], **params: str) -> set[str]:
        response = await referrals.get("/v1/referrals", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert theirs in await listed(lead) and own_id not in await listed(lead)
    assert theirs not in await listed(colleague)
    assert await listed(outsider, ids=f"{theirs},{own_id}") == {own_id}
    assert await listed(outsider, family_ids=family_id) == set()
    assert await listed(lead, family_ids=family_id) == {theirs}

    # withdrawal is the referring side's: the lead worker cannot withdraw a council colleague's referral, nor the
    # school's referral of their own family; the practitioner who submitted it can
    for referral_id in (own_id, theirs):
        taken = await referrals.post(f"/v1/referrals/{referral_id}/withdraw", json={"reason": "x"}, headers=lead)
        assert taken.status_code == 404, taken.text
    mine = await referrals.post(f"/v1/referrals/{own_id}/withdraw", json={"reason": "duplicate"}, headers=outsider)
    assert mine.status_code == 200 and mine.json()["status"] == "withdrawn"


async def test_reads_that_need_the_caseload_are_refused_while_cases_is_down(
    stack: Stack, fresh_referrals_db: str
) -> None:
    from referrals.app import create_app
    from referrals.config import Settings

    family_id, case_id = await family_with_lead(stack)
    theirs = (await create_school(stack.referrals, headers=partner(**SCHOOL))).json()["id"]
    await link_to_family(stack.referrals, theirs, family_id, case_id)
    lead = stack.world.practitioner(stack.world.lead)
    own = await create_maternity(stack.referrals, headers=lead, key=None, expectant_parent=person(postcode="LS6 1AA"))
    own_id = own.json()["id"]
    async with app_client(
        create_app,
        Settings,
        fresh_referrals_db,
        cases_url=dead_url(),
        outcomes_url=dead_url(),
        match_retry_interval=0,
        rate_limit_per_second=0,
    ) as cut_off:
        one = await cut_off.get(f"/v1/referrals/{theirs}", headers=lead)
        assert one.status_code == 503, one.text
        assert one.headers["content-type"] == "application/problem+json"
        assert (await cut_off.get("/v1/referrals", headers=lead)).status_code == 503
        # a referral with no family needs no answer from cases: its submitter still reads it
        assert (await cut_off.get(f"/v1/referrals/{own_id}", headers=lead)).status_code == 200


async def test_graphql_referrals_follow_the_same_need_to_know(stack: Stack) -> None:
    """The gateway forwards the caller's token, so `referrals` and `referral` answer what REST answers."""
    from tests.gateway.conftest import gateway_client, gql

    world = stack.world
    family_id, case_id = await family_with_lead(stack)
    theirs = (await create_school(stack.referrals, headers=partner(**SCHOOL))).json()["id"]
    await link_to_family(stack.referrals, theirs, family_id, case_id)
    lead = make_token("practitioner", sub=str(world.lead.subject), agency="LCC", agency_type="council")
    colleague = make_token("practitioner", sub=str(world.other.subject), agency="LCC", agency_type="council")
    query = "query($id: ID!) { referrals(first: 50) { nodes { id } } referral(id: $id) { id } }"
    async with (
        serve_asgi(stack.referrals.app) as referrals_url,  # type: ignore[attr-defined]
        gateway_client(referrals_url=referrals_url, cases_url=stack.cases_url) as gateway,
    ):
        seen = await gql(gateway, query, {"id": theirs}, token=lead)
        refused = await gql(gateway, query, {"id": theirs}, token=colleague)
    assert "errors" not in seen, seen
    assert theirs in {n["id"] for n in seen["data"]["referrals"]["nodes"]}
    assert seen["data"]["referral"] == {"id": theirs}
    assert "errors" not in refused, refused
    assert theirs not in {n["id"] for n in refused["data"]["referrals"]["nodes"]}
    assert refused["data"]["referral"] is None


async def test_the_lead_worker_and_the_team_around_the_family_see_the_referral_that_brought_it(stack: Stack) -> None:
    """Issue 22: the lead worker opened the family page and its referral was a 404 (`referrals: []` in GraphQL).
    The referral a family came in by is seen by its lead worker and by the team around the family — REST and the
    GraphQL family page — and by no other practitioner."""
    from tests.cases.conftest import put_team
    from tests.gateway.conftest import gateway_client, gql

    world = stack.world
    family_id, case_id = await family_with_lead(stack)
    referral = await create_partner(stack.referrals)  # a police referral: the family came in by it
    assert referral.status_code == 201, referral.text
    theirs = referral.json()["id"]
    await link_to_family(stack.referrals, theirs, family_id, case_id)
    lead, member = world.practitioner(world.lead), world.practitioner(world.other)
    assert (await stack.referrals.get(f"/v1/referrals/{theirs}", headers=member)).status_code == 404
    team = await put_team(stack.cases, case_id, [(world.other, "school nurse")], lead)
    assert team.status_code == 200, team.text

    for headers in (lead, member):
        read = await stack.referrals.get(f"/v1/referrals/{theirs}", headers=headers)
        assert read.status_code == 200, read.text
        assert read.json()["family_id"] == family_id and read.json()["kind"] == "partner"
        listed = await stack.referrals.get("/v1/referrals", params={"family_ids": family_id}, headers=headers)
        assert [r["id"] for r in listed.json()["items"]] == [theirs]
    outsider = practitioner(f"outsider-{uuid.uuid4().hex[:8]}")
    assert (await stack.referrals.get(f"/v1/referrals/{theirs}", headers=outsider)).status_code == 404

    page = "query($id: ID!) { family(id: $id) { id referrals { id kind status } } }"
    tokens = {
        who: make_token("practitioner", sub=str(worker.subject), agency="LCC", agency_type="council")
        for who, worker in (("lead", world.lead), ("member", world.other))
    }
    async with (
        serve_asgi(stack.referrals.app) as referrals_url,  # type: ignore[attr-defined]
        gateway_client(referrals_url=referrals_url, cases_url=stack.cases_url) as gateway,
    ):
        pages = {who: await gql(gateway, page, {"id": family_id}, token=token) for who, token in tokens.items()}
    for who, body in pages.items():
        assert "errors" not in body, (who, body)
        assert body["data"]["family"]["referrals"] == [{"id": theirs, "kind": "PARTNER", "status": "RECEIVED"}], who
