"""Helpers for the outcomes tests: enrol families, load observations, evaluate, read results."""

from __future__ import annotations

import sys
import uuid
from datetime import date
from types import ModuleType
from typing import Any

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
