"""Helpers for the outcomes tests: enrol families, load observations, evaluate, read results; and outcomes beside
the real cases app with a family led, teamed and enrolled in both (`led_family`)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.claims.repository import ClaimsRepository
from outcomes.claims.service import ClaimsService
from outcomes.config import Settings
from outcomes.enrolment.endpoints import enrol_family
from outcomes.evaluation.repository import EvaluationRepository, ProgressRepository
from outcomes.evaluation.service import EvaluationService, ProgressService
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.frameworks.service import load_builtin_frameworks
from outcomes.models import Enrolment, NeedResult
from outcomes.observations.repository import ObservationsRepository
from outcomes.observations.schemas import ObservationBatch
from outcomes.observations.service import ObservationsService
from shared.auth import Principal
from shared.caseload import CaseloadClient
from tests.cases.conftest import (
    ASSESSMENT,
    FrameworkServer,
    assign,
    framework_server,
    make_world,
    open_family_case,
    plan_body,
    put_team,
)
from tests.support import app_client, auth, make_token

__all__ = ["framework_server"]

SETTINGS = Settings(environment="test", database_url="postgresql://unused/unused")
ANALYST = Principal(sub="analyst-1", roles=frozenset({"analyst"}), agency="LCC", agency_type="council")


def person(role: str, dob: str, **ids: Any) -> dict[str, Any]:
    return {"person_id": str(uuid.uuid4()), "role": role, "date_of_birth": dob, **ids}


def assessment(
    needs: list[str],
    people: list[dict[str, Any]],
    *,
    assessed_on: str = "2025-01-10",
    hub: str = "north",
    family_id: uuid.UUID | None = None,
    eligible: bool = True,
    framework: str = "supporting-families-2022",
) -> dict[str, Any]:
    return {
        "case_id": str(uuid.uuid4()),
        "family_id": str(family_id or uuid.uuid4()),
        "hub": hub,
        "framework": framework,
        "framework_version": "1",
        "needs": needs,
        "assessed_on": assessed_on,
        "eligible": eligible,
        "people": people,
    }


def evaluation(
    session: AsyncSession, settings: Settings = SETTINGS, sessions: async_sessionmaker[AsyncSession] | None = None
) -> EvaluationService:
    """The evaluation service as a request builds it (with `sessions`, a cohort runs in shards)."""
    return EvaluationService(
        EvaluationRepository(session), FrameworksRepository(session), settings=settings, sessions=sessions
    )


def progress(session: AsyncSession, settings: Settings = SETTINGS) -> ProgressService:
    return ProgressService(ProgressRepository(session), settings=settings)


def claims(session: AsyncSession, settings: Settings = SETTINGS) -> ClaimsService:
    return ClaimsService(
        ClaimsRepository(session),
        settings=settings,
        evaluation=evaluation(session, settings),
        progress=progress(session, settings),
    )


async def enrol(session: AsyncSession, data: dict[str, Any]) -> uuid.UUID:
    await load_builtin_frameworks(session)
    await enrol_family(session, SETTINGS, data, actor="test")
    return uuid.UUID(data["family_id"])


async def load(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    observations = ObservationsService(ObservationsRepository(session), settings=SETTINGS)
    return await observations.import_batch(ObservationBatch.model_validate({"rows": rows}), ANALYST)


async def result(session: AsyncSession, family_id: uuid.UUID, need: str, as_of: str) -> NeedResult:
    await evaluation(session).evaluate(family_id=family_id, as_of=date.fromisoformat(as_of), actor="test")
    session.expire_all()
    enrolment = await session.scalar(select(Enrolment).where(Enrolment.family_id == family_id))
    assert enrolment is not None
    found = await session.scalar(
        select(NeedResult).where(NeedResult.enrolment_id == enrolment.id, NeedResult.need == need)
    )
    assert found is not None
    return found


def term(pid: str, start: str, end: str, possible: int, attended: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "attendance",
        "person_id": pid,
        "term_start": start,
        "term_end": end,
        "possible_sessions": possible,
        "attended_sessions": attended,
        **extra,
    }


@pytest.fixture
def kit() -> ModuleType:
    """These helpers, as a module (tests run with --import-mode=importlib, so they cannot import this file)."""
    return sys.modules[__name__]


@pytest.fixture
async def cases(
    cases_db: str, cases_sessions: async_sessionmaker[AsyncSession], framework_server: FrameworkServer
) -> AsyncIterator[httpx.AsyncClient]:
    """The real cases app, in process."""
    from cases.app import create_app
    from cases.config import Settings as CasesSettings

    async with app_client(
        create_app, CasesSettings, cases_db, sessionmaker=cases_sessions, outcomes_url=framework_server.url
    ) as client:
        yield client


@pytest.fixture
async def outcomes(
    outcomes_db: str, outcomes_sessions: async_sessionmaker[AsyncSession], cases: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """Outcomes, its caseload client speaking to the in-process cases app instead of over a socket: it asks cases,
    with the practitioner's own token, which families they may see and whether they lead them."""
    from outcomes.app import create_app
    from outcomes.deps import caseload_of

    async with app_client(create_app, Settings, outcomes_db, sessionmaker=outcomes_sessions) as client:
        client.app.dependency_overrides[caseload_of] = lambda: CaseloadClient(cases, "http://cases.test")  # type: ignore[attr-defined]
        yield client


def practitioner(subject: str) -> dict[str, str]:
    """The headers of a north practitioner of the council."""
    return auth(make_token("practitioner", sub=subject, agency="LCC", agency_type="council", hubs=["north"]))


@dataclass(frozen=True)
class LedFamily:
    """A north family and the subjects of its lead worker, a team member and a practitioner with no part in it."""

    family_id: str
    lead: str
    team: str
    outsider: str


@pytest.fixture
async def led_family(
    cases: httpx.AsyncClient,
    cases_sessions: async_sessionmaker[AsyncSession],
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> LedFamily:
    """A north family with an open case in cases (assessed, planned, led by one practitioner with another in the team
    around it) and enrolled in outcomes with education, health and crime needs (a parent and a child)."""
    async with cases_sessions() as session:
        world = await make_world(session)
    family_id, case_id = await open_family_case(cases, world)
    assert (await assign(cases, world, case_id, world.lead)).status_code == 201
    lead = world.practitioner(world.lead)
    assert (await cases.post(f"/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=lead)).status_code == 201
    plan = await cases.put(f"/v1/cases/{case_id}/plan", json=plan_body(), headers=lead)
    assert plan.status_code == 200, plan.text
    assert (await put_team(cases, case_id, [(world.partner, "school")], lead)).status_code == 200
    async with outcomes_sessions() as session:
        people = [person("parent_carer", "1985-01-01"), person("child", "2014-03-02")]
        await enrol(session, assessment(["education", "health", "crime"], people, family_id=uuid.UUID(family_id)))
        await session.commit()
    assert world.lead.subject and world.partner.subject and world.other.subject
    return LedFamily(family_id, lead=world.lead.subject, team=world.partner.subject, outsider=world.other.subject)
