"""A Hypothesis-driven state machine over the referral lifecycle, against the real app and PostgreSQL.

Random sequences of screen / record consent / decide (each outcome) / withdraw / replay the creation with its
idempotency key / repeat the previous command, by the right callers. A model says which transitions are
allowed (received → screening → accepted | signposted | no_further_action | stepped_up; withdrawn before a
decision; accepted only with consent). After every step the stored status equals the model's, a refused step
is a 409 problem that changed nothing, a replay changed nothing, and the audit chain verifies.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import verify_chain
from tests.referrals.conftest import consent, hub_manager, maternity_payload, partner

OPEN = ("received", "screening")
OUTCOMES = ("accepted", "signposted", "no_further_action", "stepped_up")
COMMANDS = ("screen", "consent", *(f"decide:{o}" for o in OUTCOMES), "withdraw", "replay_create", "repeat_last")


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


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(commands=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=6))
async def test_referral_lifecycle(
    commands: list[str], referrals: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = uuid.uuid4().hex
    body = maternity_payload(consent={"given": False})
    create_headers = {**partner(), "Idempotency-Key": key}
    created = await referrals.post("/v1/referrals/maternity", json=body, headers=create_headers)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["hub"] == "north"
    status, consented = "received", False
    previous: str | None = None

    async def stored() -> dict[str, Any]:
        response = await referrals.get(f"/v1/referrals/{rid}", headers=hub_manager("north"))
        assert response.status_code == 200
        return dict(response.json())

    for command in commands:
        before = await stored()
        if command == "replay_create":
            replay = await referrals.post("/v1/referrals/maternity", json=body, headers=create_headers)
            assert replay.status_code == 201 and replay.json()["id"] == rid, replay.text
            assert replay.headers.get("idempotent-replayed") == "true"
            assert replay.json() == created.json(), "a replay answers the first response"
            after = await stored()
            assert after["status"] == before["status"] and len(after["history"]) == len(before["history"])
        else:
            actual = previous if command == "repeat_last" else command
            if actual is None:
                continue
            caller = partner() if actual == "withdraw" else hub_manager("north")
            response = await referrals.request(**request_for(actual, rid), headers=caller)
            outcome = expected(status, consented, actual)
            if outcome is None:
                assert response.status_code == 409, (commands, actual, status, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
                assert (await stored())["history"] == before["history"], "a refused command changed the referral"
            else:
                assert response.status_code == 200, (commands, actual, status, response.text)
                status, consented = outcome
            previous = actual
        assert (await stored())["status"] == status, commands
        async with referrals_sessions() as session:
            report = await verify_chain(session)
            assert report.ok, report
            assert report.rows > 0
