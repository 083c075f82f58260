"""The outcomes service application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from outcomes.claims.endpoints import router as claims_router
from outcomes.config import SERVICE_DIR, Settings
from outcomes.enrolment.endpoints import event_handlers
from outcomes.evaluation.endpoints import router as evaluation_router
from outcomes.frameworks.endpoints import router as frameworks_router
from outcomes.frameworks.service import load_builtin_frameworks
from outcomes.judgements.endpoints import router as judgements_router
from outcomes.models import idempotency_keys, platform
from outcomes.observations.endpoints import router as observations_router
from outcomes.programme.endpoints import router as programme_router
from outcomes.reports.endpoints import router as reports_router
from outcomes.retention.endpoints import router as retention_router
from outcomes.retention.rights import rights_event_handlers
from outcomes.subject_access import router as subject_access_router
from shared.caseload import CaseloadClient
from shared.idempotency import purge_loop
from shared.service import create_service_app


async def _load_frameworks(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await load_builtin_frameworks(session)


def _caseload_client(settings: Settings) -> Callable[[FastAPI], Awaitable[None]]:
    async def start(app: FastAPI) -> None:
        """The cases client on the app's pooled HTTP client (opened and closed with the app's lifespan)."""
        app.state.caseload = CaseloadClient(app.state.http, settings.cases_url)

    return start


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Outcomes service",
        description="Outcome frameworks as data, enrolments, observations, evaluation and payment-by-results claims.",
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[
            frameworks_router,
            programme_router,
            observations_router,
            evaluation_router,
            judgements_router,
            claims_router,
            reports_router,
            subject_access_router,
            retention_router,
        ],
        event_handlers={**event_handlers(settings), **rights_event_handlers()},
        on_startup=[_caseload_client(settings), _load_frameworks],
        background_tasks=[purge_loop(idempotency_keys)],
        body_limit_overrides={
            "/v1/observations/import": settings.import_max_bytes,
            "/v1/observations": settings.batch_max_bytes,
        },
        timeout_overrides={
            "/v1/observations/import": settings.bulk_request_timeout_seconds,
            "/v1/evaluations": settings.bulk_request_timeout_seconds,
        },
    )
