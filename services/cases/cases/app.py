"""The cases service application."""

from __future__ import annotations

from fastapi import FastAPI

from cases.config import SERVICE_DIR, Settings
from cases.models import platform
from shared.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Cases service",
        description="People, families, cases, lead workers, whole-family assessments, plans, reviews, contacts and closure: one family, one plan, one worker.",
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[],
    )
