"""The cases service application."""

from __future__ import annotations

from fastapi import FastAPI

from cases.casework.endpoints import router as casework_router
from cases.config import SERVICE_DIR, Settings
from cases.families.endpoints import router as families_router
from cases.frameworks import FrameworkClient
from cases.intake.endpoints import EVENT_HANDLERS
from cases.merges.endpoints import router as merges_router
from cases.models import idempotency_keys, platform
from cases.people.endpoints import router as people_router
from cases.people.subject_access import router as subject_access_router
from cases.retention.endpoints import router as retention_router
from cases.retention.rights_endpoints import RIGHTS_EVENT_HANDLERS
from cases.retention.rights_endpoints import router as rights_router
from cases.workforce.endpoints import router as workforce_router
from shared.auth import ServiceCredentials
from shared.idempotency import purge_loop
from shared.service import create_service_app

DESCRIPTION = (
    "People, families, cases, lead workers, whole-family assessments, plans, reviews, contacts and closure: "
    "one family, one plan, one worker."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start_framework_client(app: FastAPI) -> None:
        app.state.frameworks = FrameworkClient(
            base_url=settings.outcomes_url,
            http=app.state.http,
            credentials=ServiceCredentials(settings),
            max_age=settings.framework_cache_seconds,
        )

    return create_service_app(
        settings=settings,
        title="Cases service",
        description=DESCRIPTION,
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[
            people_router,
            workforce_router,
            merges_router,
            families_router,
            casework_router,
            subject_access_router,
            retention_router,
            rights_router,
        ],
        event_handlers={**EVENT_HANDLERS, **RIGHTS_EVENT_HANDLERS},
        subscribers=settings.subscribers,
        on_startup=[start_framework_client],
        background_tasks=[purge_loop(idempotency_keys)],
    )
