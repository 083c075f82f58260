"""Scale-out: two replicas of every service (so two outbox relays each) against the same databases, under load.

Each service's replicas sit behind a TCP balancer (a Kubernetes Service's job); the clients and the event
subscriptions use the balancer, while the races below aim at each replica directly. Afterwards:
* every event was delivered once in effect (the same checks as the kill proofs), and both relays of each
  service delivered some of it (their own `/metrics`);
* one open case per family, one current lead worker per case, one active plan per case — with two hub
  managers' requests racing on the two replicas for every case, and no 5xx.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.harness import (
    MANAGER,
    MANAGER_SUB,
    REFERRAL_COUNT,
    SOAK_REFERRAL_COUNT,
    Load,
    Stack,
    all_linked,
    check_delivery_invariants,
    fetch,
    outbox_settled,
    running_stack,
    wait_until,
)

pytestmark = pytest.mark.e2e
FIGURES: dict[str, Any] = {}
DELIVERED = re.compile(r'^outbox_deliveries_total\{result="delivered"\} ([0-9.e+]+)$', re.MULTILINE)


async def delivered_by(url: str, http: httpx.AsyncClient) -> float:
    found = DELIVERED.search((await http.get(url + "/metrics")).text)
    return float(found.group(1)) if found else 0.0


async def add_workers(http: httpx.AsyncClient, cases_url: str) -> list[str]:
    manager = await http.post(
        cases_url + "/v1/workers",
        json={
            "name": "Hub Manager",
            "subject": MANAGER_SUB,
            "agency": "LCC",
            "agency_type": "council",
            "hub": "north",
            "role": "hub_manager",
        },
        headers=MANAGER,
    )
    assert manager.status_code == 201, manager.text
    ids = []
    for name in ("Asha Patel", "Ben Okafor"):
        worker = await http.post(
            cases_url + "/v1/workers",
            json={"name": name, "agency": "LCC", "agency_type": "council", "hub": "north", "caseload_cap": 200},
            headers=MANAGER,
        )
        assert worker.status_code == 201, worker.text
        ids.append(worker.json()["id"])
    return ids


async def test_two_replicas_of_everything_keep_every_invariant(
    fresh_referrals_db: str, fresh_cases_db: str, fresh_outcomes_db: str, tmp_path: Path
) -> None:
    await scale_out(fresh_referrals_db, fresh_cases_db, fresh_outcomes_db, tmp_path, REFERRAL_COUNT)


@pytest.mark.soak
async def test_soak_two_replicas_with_full_load(
    fresh_referrals_db: str, fresh_cases_db: str, fresh_outcomes_db: str, tmp_path: Path
) -> None:
    await scale_out(fresh_referrals_db, fresh_cases_db, fresh_outcomes_db, tmp_path, SOAK_REFERRAL_COUNT)


async def scale_out(
    fresh_referrals_db: str, fresh_cases_db: str, fresh_outcomes_db: str, tmp_path: Path, count: int
) -> None:
    stack = Stack(
        databases={"referrals": fresh_referrals_db, "cases": fresh_cases_db, "outcomes": fresh_outcomes_db},
        log_dir=tmp_path,
        replicas=2,
        with_outcomes=True,
    )
    async with running_stack(stack), httpx.AsyncClient(timeout=20) as http:
        load = Load(lambda: stack.url("referrals"), count, families=count // 4, deadline_seconds=600)
        await load.run()

        async def settled() -> bool:
            return (
                await all_linked(fresh_referrals_db, load.count)
                and await outbox_settled(fresh_referrals_db)
                and await outbox_settled(fresh_cases_db)
            )

        await wait_until(settled, timeout=90, what="events delivered by the two relays")
        figures = await check_delivery_invariants(stack, load)
        per_relay = {
            p.name: await delivered_by(p.url, http) for s in ("referrals", "cases") for p in stack.replicas_of(s)
        }
        assert all(n > 0 for n in per_relay.values()), f"a relay delivered nothing: {per_relay}"

        # Two hub managers race on the two cases replicas for every case: lead worker, then plan.
        workers = await add_workers(http, stack.url("cases"))
        cases = [r["case_id"] for r in await fetch(fresh_cases_db, "SELECT id::text AS case_id FROM cases")]
        replicas = [p.url for p in stack.replicas_of("cases")]

        async def assign(case_id: str, side: int) -> int:
            response = await http.post(
                f"{replicas[side]}/v1/cases/{case_id}/lead-worker",
                json={"worker_id": workers[side], "reason": "allocation meeting"},
                headers=MANAGER,
            )
            return response.status_code

        assigned = await asyncio.gather(*(assign(c, side) for c in cases for side in (0, 1)))
        assert set(assigned) <= {201, 409}, Counter(assigned)

        for case_id in cases:
            assessed = await http.post(
                f"{stack.url('cases')}/v1/cases/{case_id}/assessment",
                json={
                    "needs": [{"code": "health", "evidence": "GP letter"}, {"code": "early_years", "evidence": "HV"}]
                },
                headers=MANAGER,
            )
            assert assessed.status_code == 201, assessed.text

        async def first_plan(case_id: str, side: int) -> int:
            response = await http.put(
                f"{replicas[side]}/v1/cases/{case_id}/plan",
                json={"goals": [{"need": "health", "description": f"plan from replica {side}"}]},
                headers=MANAGER,
            )
            return response.status_code

        planned = await asyncio.gather(*(first_plan(c, side) for c in cases for side in (0, 1)))
        assert set(planned) <= {200, 409, 412, 428}, Counter(planned)
        assert Counter(planned)[200] == len(cases), "exactly one first plan per case"

        open_per_family = await fetch(
            fresh_cases_db, "SELECT family_id, count(*) AS n FROM cases WHERE status <> 'closed' GROUP BY 1"
        )
        assert all(r["n"] == 1 for r in open_per_family)
        leads = await fetch(
            fresh_cases_db,
            "SELECT c.id, count(a.id) FILTER (WHERE a.ended_at IS NULL) AS current, count(a.id) AS total"
            " FROM cases c LEFT JOIN lead_worker_assignments a ON a.case_id = c.id GROUP BY c.id",
        )
        assert all(r["current"] == 1 for r in leads), "one current lead worker per case"
        assert sum(r["total"] for r in leads) == Counter(assigned)[201], "every 201 is one assignment in history"
        plans = await fetch(
            fresh_cases_db,
            "SELECT c.id, count(p.id) FILTER (WHERE p.active) AS active FROM cases c"
            " LEFT JOIN plans p ON p.case_id = c.id GROUP BY c.id",
        )
        assert all(r["active"] == 1 for r in plans), "one active plan per case"
        figures.update(
            cases=len(cases),
            deliveries_per_relay=per_relay,
            lead_worker_race=dict(Counter(assigned)),
            first_plan_race=dict(Counter(planned)),
        )
        FIGURES[f"two replicas, {count} referrals"] = figures
    print(FIGURES)
