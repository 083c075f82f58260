"""A Hypothesis-driven state machine over the referral lifecycle, against the real app and PostgreSQL.

Random sequences of screen / record consent / decide (each outcome) / withdraw / replay the creation with its
idempotency key / repeat the previous command, by the right callers. A model says which transitions are
allowed (received → screening → accepted | signposted | no_further_action | stepped_up; withdrawn before a
decision; accepted only with consent). After every step, whatever it was:

* only allowed transitions happen: the stored status equals the model's, and the referral's whole status history
  is a chain of allowed transitions from `received`; an accepted command adds exactly the transition the model
  made (none for consent), a refused one is a 409 problem that changed nothing;
* replays never change state: replaying the creation answers the first response and changes nothing, and
  repeating the previous command is refused or (consent) changes no status;
* the audit chain verifies, and every accepted change added an audit row for the referral (a refusal or a
  replay added none).

Deterministic: `derandomize=True` and no example database, so `make test` runs the same sequences every time,
plus explicit examples for the full lifecycles.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import verify_chain
from tests.referrals.conftest import consent, hub_manager, maternity_payload, partner
from tests.security.test_schemathesis import fuzz_settings
from tests.support.matching import match_in_process

OPEN = ("received", "screening")
OUTCOMES = ("accepted", "signposted", "no_further_action", "stepped_up")
COMMANDS = ("screen", "consent", *(f"decide:{o}" for o in OUTCOMES), "withdraw", "replay_create", "repeat_last")
ALLOWED = {
    (None, "received"),
    ("received", "screening"),
    *((status, outcome) for status in OPEN for outcome in (*OUTCOMES, "withdrawn")),
}
CHANGES = "SELECT count(*) FROM audit_log WHERE record_type = 'referral' AND record_id = :rid AND action <> 'read'"


def expected(status: str, consented: bool, command: str) -> tuple[str, bool] | None:
    """The model: the new (status, consent) after `command`, or None when the service must refuse it."""
    if command == "screen":
        return ("screening", consented) if status == "received" else None
    if command == "consent":
        return (status, True) if status in OPEN else None
    if command.startswith("decide:"):
        outcome = command.split(":", 1)[1]
        if status not in OPEN or (outcome == "accepted" and not consented):
            return None
        return outcome, consented
    if command == "withdraw":
        return ("withdrawn", consented) if status in OPEN else None
    raise AssertionError(command)


def request_for(command: str, rid: str) -> dict[str, Any]:
    if command == "screen":
        return {"method": "POST", "url": f"/v1/referrals/{rid}/screening", "json": {"note": "screening"}}
    if command == "consent":
        return {"method": "PUT", "url": f"/v1/referrals/{rid}/consent", "json": consent()}
    if command.startswith("decide:"):
        body = {"outcome": command.split(":", 1)[1], "reason": "state machine"}
        return {"method": "POST", "url": f"/v1/referrals/{rid}/decision", "json": body}
    return {"method": "POST", "url": f"/v1/referrals/{rid}/withdraw", "json": {"reason": "family moved"}}


def transitions(history: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [(h["from_status"], h["to_status"]) for h in history]


@fuzz_settings(30, shrink=True)
@given(commands=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=10))
@example(commands=["decide:accepted", "consent", "screen", "decide:accepted", "repeat_last", "withdraw"])
@example(commands=["replay_create", "screen", "repeat_last", "withdraw", "repeat_last", "replay_create"])
@example(commands=["consent", "repeat_last", "decide:stepped_up", "decide:signposted", "consent"])
async def test_referral_lifecycle(
    commands: list[str],
    referrals: httpx.AsyncClient,
    cases: httpx.AsyncClient,
    referrals_sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = uuid.uuid4().hex
    body = maternity_payload(consent={"given": False})
    create_headers = {**partner(), "Idempotency-Key": key}
    created = await referrals.post("/v1/referrals/maternity", json=body, headers=create_headers)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["hub"] == "north"
    await match_in_process(referrals, cases)  # the matching worker's pass: accepting waits for it
    status, consented = "received", False
    previous: str | None = None

    async def stored() -> dict[str, Any]:
        response = await referrals.get(f"/v1/referrals/{rid}", headers=hub_manager("north"))
        assert response.status_code == 200
        return dict(response.json())

    async def changes() -> int:
        async with referrals_sessions() as session:
            return int((await session.execute(text(CHANGES), {"rid": rid})).scalar_one())

    for command in commands:
        before, audited = await stored(), await changes()
        actual = previous if command == "repeat_last" else command
        if actual == "replay_create":
            replay = await referrals.post("/v1/referrals/maternity", json=body, headers=create_headers)
            assert replay.status_code == 201 and replay.json()["id"] == rid, replay.text
            assert replay.headers.get("idempotent-replayed") == "true"
            assert replay.json() == created.json(), "a replay answers the first response"
            assert (await stored())["history"] == before["history"], "a replayed creation changed the referral"
            assert await changes() == audited, "a replayed creation was audited as a change"
        elif actual is not None:
            caller = partner() if actual == "withdraw" else hub_manager("north")
            response = await referrals.request(**request_for(actual, rid), headers=caller)
            outcome = expected(status, consented, actual)
            after = await stored()
            if outcome is None:
                assert response.status_code == 409, (commands, actual, status, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
                assert after["history"] == before["history"], "a refused command changed the referral"
                assert after["consent"] == before["consent"], "a refused command changed the consent"
                assert await changes() == audited, "a refused command was audited as a change"
            else:
                assert response.status_code == 200, (commands, actual, status, response.text)
                made = [] if outcome[0] == status else [(status, outcome[0])]
                assert transitions(after["history"]) == transitions(before["history"]) + made, (commands, actual)
                assert await changes() > audited, f"{actual} was not audited"
                status, consented = outcome
            previous = actual
        # after every step: the model's status, only allowed transitions ever, and an intact audit chain
        now = await stored()
        assert now["status"] == status, commands
        steps = transitions(now["history"])
        assert set(steps) <= ALLOWED, (commands, steps)
        assert steps[0] == (None, "received") and steps[-1][1] == status, steps
        assert all(a[1] == b[0] for a, b in itertools.pairwise(steps)), steps
        async with referrals_sessions() as session:
            report = await verify_chain(session)
            assert report.ok, report
            assert report.rows > 0
