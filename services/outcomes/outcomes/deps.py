"""The typed dependencies the outcomes handlers take: the callers they admit, the settings, and each domain's
service built for the request (with the cases client where a practitioner's need-to-know is asked). The one place
that reads `request.app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from outcomes.claims.repository import ClaimsRepository
from outcomes.claims.service import ClaimsService
from outcomes.config import Settings
from outcomes.evaluation.repository import EvaluationRepository, ProgressRepository
from outcomes.evaluation.service import EvaluationService, ProgressService
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.frameworks.service import FrameworksService
from outcomes.judgements.service import JudgementsService
from outcomes.models import idempotency_keys
from outcomes.observations.repository import ObservationsRepository
from outcomes.observations.service import ObservationsService
from outcomes.programme.repository import ProgrammeRepository
from outcomes.programme.service import ProgrammeService, settings_in_phase
from outcomes.reports.repository import ReportsRepository
from outcomes.reports.service import ReportsService
from shared.auth import Principal, require_roles
from shared.caseload import CaseloadClient
from shared.db import ReadSessionDep, SessionDep, SessionmakerDep
from shared.idempotency import Idempotency, idempotency

Reader = Annotated[
    Principal, Depends(require_roles("practitioner", "hub_manager", "analyst", "auditor", "admin", "service"))
]
Analyst = Annotated[Principal, Depends(require_roles("analyst", "admin"))]
Auditor = Annotated[Principal, Depends(require_roles("auditor", "admin"))]
ClaimReader = Annotated[Principal, Depends(require_roles("auditor", "analyst", "admin", "service"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Recorder = Annotated[Principal, Depends(require_roles("practitioner", "analyst", "admin"))]
"""Records a judgement: a practitioner only as the family's lead worker (asked of cases)."""
Idempotent = Annotated[Idempotency, Depends(idempotency(idempotency_keys))]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def phase_settings(session: SessionDep, settings: Annotated[Settings, Depends(settings_of)]) -> Settings:
    """The settings with today's programme phase and funding model (phases are data: no restart to change)."""
    return await settings_in_phase(session, settings)


SettingsDep = Annotated[Settings, Depends(phase_settings)]


def caseload_of(request: Request) -> CaseloadClient:
    """The client asking cases which families a practitioner may see (built at startup, pooled connections)."""
    caseload: CaseloadClient = request.app.state.caseload
    return caseload


CaseloadDep = Annotated[CaseloadClient, Depends(caseload_of)]


def frameworks_service(session: SessionDep, settings: SettingsDep) -> FrameworksService:
    return FrameworksService(FrameworksRepository(session), settings=settings)


def observations_service(session: SessionDep, settings: SettingsDep) -> ObservationsService:
    return ObservationsService(ObservationsRepository(session), settings=settings)


def evaluation_service(session: SessionDep, sessions: SessionmakerDep, settings: SettingsDep) -> EvaluationService:
    """With the app's sessionmaker: a cohort evaluation may run in shards, each on a connection of its own."""
    return EvaluationService(
        EvaluationRepository(session), FrameworksRepository(session), settings=settings, sessions=sessions
    )


def progress_service(session: SessionDep, settings: SettingsDep, caseload: CaseloadDep) -> ProgressService:
    return ProgressService(ProgressRepository(session), settings=settings, caseload=caseload)


def claims_service(session: SessionDep, settings: SettingsDep, caseload: CaseloadDep) -> ClaimsService:
    """A claim re-evaluates its one family in the request's transaction (no shards)."""
    return ClaimsService(
        ClaimsRepository(session),
        settings=settings,
        evaluation=EvaluationService(EvaluationRepository(session), FrameworksRepository(session), settings=settings),
        progress=ProgressService(ProgressRepository(session), settings=settings, caseload=caseload),
    )


def judgements_service(session: SessionDep, settings: SettingsDep, caseload: CaseloadDep) -> JudgementsService:
    return JudgementsService(
        enrolments=EvaluationRepository(session),
        frameworks=FrameworksRepository(session),
        observations=ObservationsService(ObservationsRepository(session), settings=settings),
        caseload=caseload,
        phase=settings.programme_phase,
    )


async def reports_service(
    session: ReadSessionDep, settings: Annotated[Settings, Depends(settings_of)]
) -> ReportsService:
    """On the read replica where there is one (today's phase read there too: one connection per report)."""
    return ReportsService(ReportsRepository(session), settings=await settings_in_phase(session, settings))


FrameworksServiceDep = Annotated[FrameworksService, Depends(frameworks_service)]
ObservationsServiceDep = Annotated[ObservationsService, Depends(observations_service)]
EvaluationServiceDep = Annotated[EvaluationService, Depends(evaluation_service)]
ProgressServiceDep = Annotated[ProgressService, Depends(progress_service)]
ClaimsServiceDep = Annotated[ClaimsService, Depends(claims_service)]
ReportsServiceDep = Annotated[ReportsService, Depends(reports_service)]
JudgementsServiceDep = Annotated[JudgementsService, Depends(judgements_service)]


def programme_service(session: SessionDep, settings: Annotated[Settings, Depends(settings_of)]) -> ProgrammeService:
    return ProgrammeService(ProgrammeRepository(session), settings=settings)


ProgrammeServiceDep = Annotated[ProgrammeService, Depends(programme_service)]
