"""The intelligence service application."""

from __future__ import annotations

from fastapi import FastAPI

from intelligence.config import SERVICE_DIR, Settings
from intelligence.datasets.endpoints import router as datasets_router
from intelligence.datasets.retention import retention_loop
from intelligence.families.endpoints import router as families_router
from intelligence.families.known import CasesIndex, cases_check_loop
from intelligence.linkage.endpoints import router as linkage_router
from intelligence.models import idempotency_keys, platform
from intelligence.subject_access import router as subject_access_router
from shared.auth import ServiceCredentials
from shared.contracts.frameworks import FrameworkClient
from shared.idempotency import purge_loop
from shared.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings=settings,
        title="Intelligence service",
        description="Partner datasets, linkage of people into households, needs against the active framework, "
        "and identified families for a human decision.",
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[datasets_router, linkage_router, families_router, subject_access_router],
        subscribers=settings.subscribers,
        background_tasks=[purge_loop(idempotency_keys), retention_loop, cases_check_loop],
        body_limit_overrides={"/v1/datasets": settings.import_max_bytes},
        timeout_overrides={
            "/v1/datasets": settings.bulk_request_timeout_seconds,
            "/v1/linkage-runs": settings.bulk_request_timeout_seconds,
        },
    )
    app.state.frameworks = FrameworkClient(
        outcomes_url=settings.outcomes_url,
        credentials=ServiceCredentials(settings),
        max_age=settings.framework_cache_seconds,
        timeout=5.0,
        retry_after_failure=5.0,
    )
    app.state.cases_index = CasesIndex(
        cases_url=settings.cases_url,
        credentials=ServiceCredentials(settings),
        timeout=settings.cases_check_timeout_seconds,
    )
    return app
