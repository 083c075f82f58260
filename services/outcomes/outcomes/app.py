"""The outcomes service application."""

from __future__ import annotations

from fastapi import FastAPI

from outcomes.config import SERVICE_DIR, Settings
from outcomes.models import platform
from shared.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Outcomes service",
        description="Outcome frameworks as data, enrolments, observations, evaluation and payment-by-results claims.",
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[],
    )
