"""Triage steps tests share: the hub's answer for people the person index sent to review (issue 17)."""

from __future__ import annotations

import httpx

from tests.support.matching import wait_for_matching

NEW_PERSON_REASON = "not the candidates offered: a new person to the hub"


async def confirm_new_people(client: httpx.AsyncClient, referral_id: str, headers: dict[str, str]) -> int:
    """Declare every person of the referral still in review (or a conflict) a new person, as a hub manager does
    after checking; returns how many. `client` is on the referrals service. Waits for matching to complete first
    (it runs after intake, `tests.support.matching`)."""
    referral = await wait_for_matching(client, referral_id, headers)
    answered = 0
    for person in referral["people"]:
        if person["match"]["status"] == "candidates":
            answer = await client.put(
                f"/v1/referrals/{referral_id}/people/{person['ref']}/identity",
                json={"person_id": None, "reason": NEW_PERSON_REASON},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            answered += 1
    return answered
