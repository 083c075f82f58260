"""The intelligence service application."""

from __future__ import annotations

from fastapi import FastAPI

from intelligence.config import SERVICE_DIR, Settings
from intelligence.datasets.endpoints import router as datasets_router
from intelligence.models import idempotency_keys, platform
from shared.idempotency import purge_loop
from shared.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Intelligence service",
        description="Partner datasets, linkage of people into households, needs against the active framework, "
        "and identified families for a human decision.",
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[datasets_router],
        subscribers=settings.subscribers,
        background_tasks=[purge_loop(idempotency_keys)],
        body_limit_overrides={"/v1/datasets": settings.import_max_bytes},
        timeout_overrides={
            "/v1/datasets": settings.bulk_request_timeout_seconds,
            "/v1/linkage-runs": settings.bulk_request_timeout_seconds,
        },
    )
