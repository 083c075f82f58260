"""The referrals service application."""

from __future__ import annotations

from fastapi import FastAPI

from referrals.config import SERVICE_DIR, Settings
from referrals.models import platform
from shared.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="Referrals service",
        description="Maternity and school referrals from partner agencies: validation, idempotency, consent, triage, hub allocation and status callbacks.",
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[],
    )
