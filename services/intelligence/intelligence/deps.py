"""The typed dependencies the intelligence handlers take: the callers they admit, the settings, and each
domain's service built for the request. The one place that reads `request.app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from intelligence.config import Settings
from intelligence.datasets.repository import DatasetsRepository
from intelligence.datasets.service import DatasetsService
from intelligence.families.repository import FamiliesRepository
from intelligence.families.service import FamiliesService
from intelligence.linkage.repository import LinkageRepository
from intelligence.linkage.service import LinkageService
from intelligence.models import idempotency_keys
from shared.auth import Principal, require_roles
from shared.contracts.frameworks import FrameworkClient
from shared.db import SessionDep
from shared.idempotency import Idempotency, idempotency

Analyst = Annotated[Principal, Depends(require_roles("analyst", "admin"))]
FamilyReader = Annotated[Principal, Depends(require_roles("hub_manager", "analyst", "admin"))]
Decider = Annotated[Principal, Depends(require_roles("hub_manager", "admin"))]
Idempotent = Annotated[Idempotency, Depends(idempotency(idempotency_keys))]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def datasets_service(session: SessionDep, settings: SettingsDep) -> DatasetsService:
    return DatasetsService(DatasetsRepository(session), settings=settings)


DatasetsServiceDep = Annotated[DatasetsService, Depends(datasets_service)]


def linkage_service(request: Request, session: SessionDep, settings: SettingsDep) -> LinkageService:
    """With the active framework's cached client and the app's pooled HTTP client (built at startup)."""
    frameworks: FrameworkClient = request.app.state.frameworks
    return LinkageService(
        LinkageRepository(session),
        settings=settings,
        frameworks=frameworks,
        http=request.app.state.http,
        cases=request.app.state.cases_index,
    )


def families_service(session: SessionDep) -> FamiliesService:
    return FamiliesService(FamiliesRepository(session))


LinkageServiceDep = Annotated[LinkageService, Depends(linkage_service)]
FamiliesServiceDep = Annotated[FamiliesService, Depends(families_service)]
