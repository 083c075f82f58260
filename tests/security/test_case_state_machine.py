"""A Hypothesis-driven state machine over the case lifecycle, against the real cases app and PostgreSQL.

Random sequences of: assign or reassign the lead worker, record the assessment, write the plan (with the current
ETag, with a stale one, without If-Match), record a review, close the case (with its ETag, or without If-Match: 428),
open a case for the family again, and
replay one `referral.accepted` event. A model says which steps are allowed and what the case's status becomes
(open → assessment → plan → review → closed). After every step, whatever it was:

* only allowed transitions happen: the stored status and lead worker equal the model's, a refused step answered
  its problem status and changed nothing (case, lead worker history, number of cases, audited changes), and the
  invariants hold in the database (one open case per family, one current lead worker per case, one active plan
  per case);
* replays never change state: the replayed `referral.accepted` (already in the inbox) changes nothing, and a
  repeated step is refused or changes nothing it should not (a second close is 409);
* the audit chain verifies, and every accepted step added an audited change (a refusal or a replay added none).

Deterministic: `derandomize=True` and no example database, so `make test` runs the same sequences every time,
plus explicit examples for the full lifecycle and its refusals.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import verify_chain
from tests.cases.conftest import (
    ASSESSMENT,
    make_world,
    open_family_case,
    plan_body,
    post_event,
    referral_event,
)
from tests.security.test_schemathesis import fuzz_settings
from tests.support.factories import upn as make_upn

COMMANDS = (
    "assign:lead", "assign:other", "assessment", "plan", "plan:stale", "plan:no_if_match", "review", "close",
    "close:no_if_match", "reopen", "replay_event",
)  # fmt: skip

# The examples of one test share its rolled-back transaction: every family gets its own pupil number.
UPNS = itertools.count(9100)

INVARIANTS = {
    "one open case per family": (
        "SELECT family_id FROM cases WHERE status <> 'closed' GROUP BY family_id HAVING count(*) > 1"
    ),
    "one current lead worker": (
        "SELECT case_id FROM lead_worker_assignments WHERE ended_at IS NULL GROUP BY case_id HAVING count(*) > 1"
    ),
    "one active plan": "SELECT case_id FROM plans WHERE active GROUP BY case_id HAVING count(*) > 1",
}
CHANGES = "SELECT count(*) FROM audit_log WHERE action <> 'read'"


class Model:
    """What the case should be: status, lead worker, whether it has an assessment and a plan."""

    def __init__(self) -> None:
        self.status = "open"
        self.lead: str | None = None
        self.assessed = False
        self.planned = False

    def expect(self, command: str) -> int:
        """The HTTP status the service must answer to `command`, updating the model when it is accepted."""
        if command == "reopen":
            return 201 if self.status == "closed" else 409
        if self.status == "closed":
            return 409
        if command.startswith("assign:"):
            worker = command.split(":", 1)[1]
            if self.lead == worker:
                return 409
            self.lead = worker
            self.status = "assessment" if self.status == "open" else self.status
            return 201
        if command == "assessment":
            self.assessed = True
            self.status = "plan" if self.status in ("open", "assessment") else self.status
            return 201
        if command == "plan:stale":
            return 412
        if command == "plan:no_if_match" and self.planned:
            return 428
        if command in ("plan", "plan:no_if_match"):
            if not self.assessed:
                return 409
            self.planned = True
            self.status = "plan" if self.status in ("open", "assessment") else self.status
            return 200
        if command == "review":
            if not self.planned:
                return 409
            self.status = "review"
            return 201
        if command == "close:no_if_match":
            return 428
        if command == "close":
            self.status = "closed"
            self.lead = None
            return 200
        raise AssertionError(command)


@fuzz_settings(15, shrink=True)
@given(commands=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=10))
@example(
    commands=[
        "review", "plan", "assign:lead", "assign:lead", "assessment", "plan:no_if_match", "plan", "plan:stale",
        "plan:no_if_match", "review", "replay_event", "assign:other", "close", "close", "assessment", "reopen",
        "assign:lead", "replay_event",
    ]
)  # fmt: skip
@example(commands=["reopen", "close", "reopen", "reopen", "review", "replay_event", "close"])
async def test_case_lifecycle(
    commands: list[str], cases: httpx.AsyncClient, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with cases_sessions() as session:
        world = await make_world(session)
    manager = world.manager()
    workers = {"lead": world.lead, "other": world.other}
    family_id, case_id = await open_family_case(cases, world, upn=make_upn(next(UPNS)))
    model = Model()
    event = referral_event(hub="north", family_name="Replay", upn=make_upn(next(UPNS)))
    first = await post_event(cases, event)
    assert first.status_code == 200, first.text

    async def snapshot(case_id: str) -> dict[str, Any]:
        case = await cases.get(f"/v1/cases/{case_id}", headers=manager)
        assert case.status_code == 200, case.text
        history = await cases.get(f"/v1/cases/{case_id}/lead-worker/history", headers=manager)
        assert history.status_code == 200, history.text
        async with cases_sessions() as session:
            total = (await session.execute(text("SELECT count(*) FROM cases"))).scalar_one()
            changes = (await session.execute(text(CHANGES))).scalar_one()
        return {"case": case.json(), "history": history.json()["items"], "total": total, "changes": changes}

    async def plan_etag(case_id: str) -> str:
        response = await cases.get(f"/v1/cases/{case_id}/plan", headers=manager)
        assert response.status_code == 200, response.text
        return response.headers["etag"]

    async def step(command: str, before: dict[str, Any], case_id: str, model: Model) -> tuple[str, Model]:
        """Send `command`; check the answer against the model. Returns the (possibly new) case and model."""
        expected = model.expect(command)
        if command.startswith("assign:"):
            body = {"worker_id": str(workers[command.split(":", 1)[1]].id), "reason": "allocation"}
            response = await cases.post(f"/v1/cases/{case_id}/lead-worker", json=body, headers=manager)
        elif command == "assessment":
            response = await cases.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=manager)
        elif command.startswith("plan"):
            headers = dict(manager)
            if command == "plan:stale":
                headers["If-Match"] = '"stale-etag"'
            elif command == "plan":
                has_plan = (await cases.get(f"/v1/cases/{case_id}/plan", headers=manager)).status_code == 200
                if has_plan:
                    headers["If-Match"] = await plan_etag(case_id)
            response = await cases.put(f"/v1/cases/{case_id}/plan", json=plan_body(summary=command), headers=headers)
        elif command == "review":
            body = {"summary": "reviewed with the family"}
            response = await cases.post(f"/v1/cases/{case_id}/reviews", json=body, headers=manager)
        elif command.startswith("close"):
            body = {"outcome": "needs_met", "reason": "plan goals met"}
            headers = dict(manager)
            if command == "close":
                headers["If-Match"] = (await cases.get(f"/v1/cases/{case_id}", headers=manager)).headers["etag"]
            response = await cases.post(f"/v1/cases/{case_id}/close", json=body, headers=headers)
        else:  # reopen
            body = {"family_id": family_id, "reason": "new concerns"}
            response = await cases.post("/v1/cases", json=body, headers=manager)
        assert response.status_code == expected, (commands, command, response.text)
        if expected >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert (await snapshot(case_id)) == before, f"a refused {command} changed the case"
            return case_id, model
        if command == "reopen":
            case_id, model = response.json()["id"], Model()
        assert (await snapshot(case_id))["changes"] > before["changes"], f"{command} was not audited"
        return case_id, model

    for command in commands:
        before = await snapshot(case_id)
        if command == "replay_event":
            response = await post_event(cases, event)
            assert response.status_code == 200, response.text
            assert (await snapshot(case_id)) == before, "a replayed event changed something"
        else:
            case_id, model = await step(command, before, case_id, model)
        # after every step: the model's status and lead worker, the invariants, an intact audit chain
        stored = await snapshot(case_id)
        assert stored["case"]["status"] == model.status, (commands, command)
        current = [a for a in stored["history"] if a["ended_at"] is None]
        expected_lead = [str(workers[model.lead].id)] if model.lead else []
        assert [a["worker_id"] for a in current] == expected_lead, (commands, command)
        async with cases_sessions() as session:
            for name, query in INVARIANTS.items():
                assert (await session.execute(text(query))).all() == [], name
            report = await verify_chain(session)
            assert report.ok, report
            assert report.rows > 0
