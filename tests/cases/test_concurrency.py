"""The invariants under real concurrency: committed databases, one app, many requests at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from cases.app import create_app
from cases.config import Settings
from cases.models import Case, CaseReferral, Family, FamilyMember, LeadWorkerAssignment, Person, Plan, Worker
from shared.db import async_url
from tests.cases.conftest import (
    ASSESSMENT,
    FrameworkServer,
    World,
    family_body,
    make_world,
    open_family_case,
    plan_body,
    post_event,
    referral_event,
)
from tests.conftest import template_name
from tests.support import app_client, clone_database
from tests.support.factories import upn as make_upn


@pytest.fixture(scope="module")
async def committed_db(server_url: str, cases_db: str) -> AsyncIterator[str]:
    """One committed clone for this module: each test keeps to its own family, case and workers."""
    async with clone_database(server_url, template_name("cases")) as url:
        yield url


@pytest.fixture(scope="module")
async def committed(committed_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(async_url(committed_db), poolclass=NullPool)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture(scope="module")
async def live(committed_db: str, framework_server: FrameworkServer) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(
        create_app, Settings, committed_db, outcomes_url=framework_server.url,
        database_pool_size=55, database_max_overflow=5,
    ) as client:  # fmt: skip
        await warm_pool(client, 55)
        yield client


async def warm_pool(client: httpx.AsyncClient, n: int) -> None:
    """Open the pool's connections before the burst, so that the test measures locking, not connecting."""
    engine = client.app.state.db.engine  # type: ignore[attr-defined]
    connections = []
    for _ in range(n):
        connections.append(await engine.connect())
    for connection in connections:
        await connection.close()


async def test_fifty_concurrent_lead_worker_assignments_leave_one_current(
    live: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        world = await make_world(session)
        workers = [
            Worker(id=uuid.uuid4(), name=f"w{i}", agency="LCC", agency_type="council", hub="north",
                   role="practitioner", caseload_cap=5, active=True)
            for i in range(50)
        ]  # fmt: skip
        session.add_all(workers)
        await session.commit()
    _, case_id = await open_family_case(live, world, upn=make_upn(7001))

    async def assign(worker: Worker) -> int:
        response = await live.post(
            f"/v1/cases/{case_id}/lead-worker",
            json={"worker_id": str(worker.id), "reason": "allocation"},
            headers=world.manager(),
        )
        return response.status_code

    statuses = await asyncio.gather(*(assign(w) for w in workers))
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    async with committed() as session:
        rows = (
            await session.scalars(select(LeadWorkerAssignment).where(LeadWorkerAssignment.case_id == case_id))
        ).all()
        current = [r for r in rows if r.ended_at is None]
        assert len(current) == 1
        assert len(rows) == statuses.count(201)
        assert all(r.end_reason for r in rows if r.ended_at is not None)


async def test_caseload_cap_holds_under_concurrent_assignment(
    live: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        world = await make_world(session, cap=3)
        # twelve open cases, written directly: the setup is not what this test is about
        families = [Family(id=uuid.uuid4(), name=f"F{i}", hub="north") for i in range(12)]
        cases = [Case(id=uuid.uuid4(), family_id=f.id, hub="north", status="open", opened_by="test") for f in families]
        session.add_all(families)
        await session.flush()
        session.add_all(cases)
        await session.commit()
    case_ids = [str(c.id) for c in cases]

    async def assign(case_id: str, override: bool = False) -> int:
        response = await live.post(
            f"/v1/cases/{case_id}/lead-worker",
            json={"worker_id": str(world.lead.id), "reason": "allocation", "override_cap": override},
            headers=world.manager(),
        )
        return response.status_code

    statuses = await asyncio.gather(*(assign(c) for c in case_ids))
    assert sorted(statuses) == [201] * 3 + [409] * 9
    caseload = (await live.get(f"/v1/workers/{world.lead.id}/caseload", headers=world.manager())).json()
    assert caseload["current"] == 3 and caseload["at_cap"] is True

    # a hub manager may override the cap, and the override is recorded
    refused = [c for c, s in zip(case_ids, statuses, strict=True) if s == 409]
    assert await assign(refused[0], override=True) == 201
    async with committed() as session:
        overridden = await session.scalar(
            select(func.count()).select_from(LeadWorkerAssignment).where(LeadWorkerAssignment.cap_overridden)
        )
        assert overridden == 1


async def test_fifty_concurrent_referrals_for_one_family_open_one_case(
    live: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        await make_world(session)
    upn = make_upn(7777)
    events = [referral_event(upn=upn, family_name="Okonkwo") for _ in range(50)]
    responses = await asyncio.gather(*(post_event(live, e) for e in events))
    assert [r.status_code for r in responses] == [200] * 50, [r.text for r in responses if r.status_code != 200][:2]

    async def counts() -> tuple[int, int, int, int, dict[str, int]]:
        async with committed() as session:
            people = (await session.scalars(select(Person.id).where(Person.family_name == "Okonkwo"))).all()
            families = set(
                (await session.scalars(select(FamilyMember.family_id).where(FamilyMember.person_id.in_(people)))).all()
            )
            cases = (await session.scalars(select(Case).where(Case.family_id.in_(families)))).all()
            links = await session.scalar(
                select(func.count()).select_from(CaseReferral).where(CaseReferral.case_id.in_([c.id for c in cases]))
            )
            kinds = dict(
                (
                    await session.execute(
                        text("SELECT type, count(*) FROM outbox_events WHERE subject = ANY(:s) GROUP BY type"),
                        {"s": [str(c.id) for c in cases]},
                    )
                ).all()
            )
            open_cases = sum(c.status != "closed" for c in cases)
            return len(people), len(families), open_cases, int(links or 0), kinds

    people, families, open_cases, links, kinds = await counts()
    assert (people, families, open_cases, links) == (2, 1, 1, 50)  # the pupil and the parent, once; one open case
    assert kinds == {"case.opened": 1, "case.joined": 49}

    # a redelivery of any of them changes nothing
    again = await post_event(live, events[7])
    assert again.json()["status"] == "duplicate"
    assert await counts() == (people, families, open_cases, links, kinds)


async def test_concurrent_plan_updates_with_one_etag_keep_one_active_plan(
    live: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        world: World = await make_world(session)
    _, case_id = await open_family_case(live, world, upn=make_upn(7002))
    manager = world.manager()
    assert (await live.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=manager)).status_code == 201
    first = await live.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=manager)
    etag = first.headers["etag"]

    async def update(n: int) -> int:
        response = await live.put(
            f"/v1/cases/{case_id}/plan", json=plan_body(summary=f"edit {n}"), headers={**manager, "If-Match": etag}
        )
        return response.status_code

    statuses = await asyncio.gather(*(update(n) for n in range(20)))
    assert sorted(statuses) == [200] + [412] * 19
    async with committed() as session:
        plans = (await session.scalars(select(Plan).where(Plan.case_id == case_id))).all()
        assert len(plans) == 2 and sum(p.active for p in plans) == 1


async def test_thirty_concurrent_creates_with_one_idempotency_key_create_one_family(
    live: httpx.AsyncClient, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        world = await make_world(session)
        await session.commit()
    body = family_body(upn=make_upn(7101), family_name="Retry")
    headers = world.manager() | {"Idempotency-Key": f"portal-{uuid.uuid4()}"}

    responses = await asyncio.gather(*(live.post("/v1/families", json=body, headers=headers) for _ in range(30)))
    assert [r.status_code for r in responses] == [201] * 30, {r.status_code: r.text for r in responses}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 29
    async with committed() as session:
        created = await session.scalar(select(func.count()).select_from(Family).where(Family.name == "Retry family"))
    assert created == 1
