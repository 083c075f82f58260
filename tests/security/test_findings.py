"""Regression tests for the access bugs found while building the proofs (docs/security.md, Findings)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx

from tests.referrals.conftest import partner
from tests.security.conftest import SecurityWorld


async def test_f1_practitioner_cannot_search_the_whole_person_index(
    cases: httpx.AsyncClient, world: SecurityWorld
) -> None:
    """A practitioner with no link to the family must not get its child's identifiers from /v1/people/match."""
    child = await cases.get("/v1/people", params={"ids": world.ids["other_person_id"]}, headers=world.manager())
    person = child.json()["items"][0]
    response = await cases.post(
        "/v1/people/match",
        json={k: person[k] for k in ("given_name", "family_name", "date_of_birth", "upn")},
        headers=world.caller("practitioner"),
    )
    assert response.status_code == 403, response.text


async def test_f2_hub_manager_cannot_merge_people_of_another_hub(
    cases: httpx.AsyncClient, world: SecurityWorld
) -> None:
    response = await cases.post(
        f"/v1/people/{world.ids['person_id']}/merge",
        json={"merge_person_id": world.ids["other_person_id"], "reason": "duplicate"},
        headers=world.caller("hub_manager"),
    )
    assert response.status_code == 404, response.text


async def test_f3_contacts_of_a_case_you_cannot_see_is_404(cases: httpx.AsyncClient, world: SecurityWorld) -> None:
    response = await cases.get(f"/v1/cases/{world.ids['case_id']}/contacts", headers=world.caller("practitioner"))
    assert response.status_code == 404, response.text


async def test_f6_streamed_oversized_body_is_413_not_400(referrals: httpx.AsyncClient) -> None:
    """Without Content-Length, BodySizeLimitMiddleware's `_TooLarge` is swallowed by FastAPI's body parser (400)."""
    big = b'{"reason": "' + b"x" * 1_100_000 + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    response = await referrals.post(
        "/v1/referrals/maternity",
        content=chunks(),
        headers={**partner(), "Idempotency-Key": "finding-f6", "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text


async def test_f5_another_hubs_family_looks_like_an_unknown_id(
    cases: httpx.AsyncClient, outcomes: httpx.AsyncClient, world: SecurityWorld
) -> None:
    """Opening a case for, or reading the progress of, another hub's family answers as an unknown id would."""
    south = world.caller("hub_manager")
    unknown = str(uuid.uuid4())
    for family_id in (world.ids["family_id"], unknown):
        response = await cases.post("/v1/cases", json={"family_id": family_id, "reason": "f5"}, headers=south)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "No such family"
    # whether a role opens cases at all does not depend on the id: 403 for both
    for family_id in (world.ids["family_id"], unknown):
        response = await cases.post(
            "/v1/cases", json={"family_id": family_id, "reason": "f5"}, headers=world.caller("practitioner")
        )
        assert response.status_code == 403, response.text

    other, missing = [
        await outcomes.get(f"/v1/families/{family_id}/progress", headers=south)
        for family_id in (world.ids["family_id"], unknown)
    ]
    assert other.status_code == missing.status_code == 404, other.text
    assert other.json()["title"] == missing.json()["title"]
    assert other.json()["detail"] == missing.json()["detail"].replace(unknown, world.ids["family_id"])
    # the family is enrolled: its own hub's manager reads it
    own = await outcomes.get(f"/v1/families/{world.ids['family_id']}/progress", headers=world.manager())
    assert own.status_code == 200, own.text
