"""The typed dependencies handlers take: settings, callers, and each domain's service built for the request.

A service is built per request from the request's session (`shared.db.SessionDep`, one per request, committed
after the handler returns), its repositories and the settings. The `*_service(session, …)` builders are also
used by the event consumer, which has a session but no request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import Caller
from cases.casework.planning import PlanningService
from cases.casework.repository import CaseworkRepository
from cases.casework.service import CaseworkService
from cases.casework.team import TeamService
from cases.config import Settings
from cases.families.repository import FamiliesRepository
from cases.families.service import FamiliesService
from cases.frameworks import FrameworkClient
from cases.intake.repository import IntakeRepository
from cases.intake.service import IntakeService
from cases.merges.repository import MergesRepository
from cases.merges.service import MergesService
from cases.models import idempotency_keys
from cases.people.known import KnownService
from cases.people.repository import PeopleRepository
from cases.people.service import PeopleService
from cases.workforce.repository import WorkforceRepository
from cases.workforce.service import WorkforceService
from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import Forbidden
from shared.idempotency import Idempotency, idempotency

STAFF = ("practitioner", "hub_manager")

Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
# Matching searches the whole index, so it is for triage (hub managers) and the referrals service only: a
# practitioner would otherwise learn identifiers of families outside their caseload.
Matcher = Annotated[Principal, Depends(require_roles("service", "hub_manager", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
KNOWN_ASKERS = ("service:intelligence",)
"""Who may ask whether people are known to early help: the intelligence service only (no person's details leave)."""


async def _known_asker(principal: Annotated[Principal, Depends(require_roles("service"))]) -> Principal:
    if principal.sub not in KNOWN_ASKERS:
        raise Forbidden("Only the intelligence service asks whether people are known to early help")
    return principal


KnownAsker = Annotated[Principal, Depends(_known_asker)]
ManagerOrAdmin = Annotated[Principal, Depends(require_roles("hub_manager", "admin"))]
Idempotent = Annotated[Idempotency, Depends(idempotency(idempotency_keys))]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _frameworks(request: Request) -> FrameworkClient:
    client: FrameworkClient = request.app.state.frameworks
    return client


SettingsDep = Annotated[Settings, Depends(_settings)]
FrameworksDep = Annotated[FrameworkClient, Depends(_frameworks)]


def people_service(session: AsyncSession) -> PeopleService:
    return PeopleService(PeopleRepository(session))


def families_service(session: AsyncSession) -> FamiliesService:
    return FamiliesService(
        FamiliesRepository(session), people=people_service(session), workforce=WorkforceRepository(session)
    )


def casework_service(session: AsyncSession) -> CaseworkService:
    return CaseworkService(
        CaseworkRepository(session), families=FamiliesRepository(session), workforce=WorkforceRepository(session)
    )


def planning_service(session: AsyncSession, settings: Settings, frameworks: FrameworkClient) -> PlanningService:
    return PlanningService(
        CaseworkRepository(session),
        casework=casework_service(session),
        families=FamiliesRepository(session),
        workforce=WorkforceRepository(session),
        frameworks=frameworks,
        review_weeks=settings.plan_review_weeks,
    )


def team_service(session: AsyncSession) -> TeamService:
    return TeamService(
        CaseworkRepository(session), casework=casework_service(session), workforce=WorkforceRepository(session)
    )


def intake_service(session: AsyncSession) -> IntakeService:
    return IntakeService(
        IntakeRepository(session),
        people=people_service(session),
        families=families_service(session),
        casework=CaseworkRepository(session),
        workforce=WorkforceRepository(session),
    )


def _people(session: SessionDep) -> PeopleService:
    return people_service(session)


def _known(session: SessionDep) -> KnownService:
    return KnownService(PeopleRepository(session), people_service(session))


def _workforce(session: SessionDep) -> WorkforceService:
    return WorkforceService(WorkforceRepository(session))


def _families(session: SessionDep) -> FamiliesService:
    return families_service(session)


def _casework(session: SessionDep) -> CaseworkService:
    return casework_service(session)


def _planning(session: SessionDep, settings: SettingsDep, frameworks: FrameworksDep) -> PlanningService:
    return planning_service(session, settings, frameworks)


def _team(session: SessionDep) -> TeamService:
    return team_service(session)


def _merges(session: SessionDep) -> MergesService:
    return MergesService(MergesRepository(session))


PeopleServiceDep = Annotated[PeopleService, Depends(_people)]
KnownServiceDep = Annotated[KnownService, Depends(_known)]
MergesServiceDep = Annotated[MergesService, Depends(_merges)]
WorkforceServiceDep = Annotated[WorkforceService, Depends(_workforce)]
FamiliesServiceDep = Annotated[FamiliesService, Depends(_families)]
CaseworkServiceDep = Annotated[CaseworkService, Depends(_casework)]
PlanningServiceDep = Annotated[PlanningService, Depends(_planning)]
TeamServiceDep = Annotated[TeamService, Depends(_team)]


async def _caller(workforce: WorkforceServiceDep, principal: Staff) -> Caller:
    return await workforce.caller(principal)


CallerDep = Annotated[Caller, Depends(_caller)]
