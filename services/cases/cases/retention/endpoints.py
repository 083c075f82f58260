"""`POST /v1/admin/retention/run` on the cases service."""

from __future__ import annotations

from cases.models import platform, retention
from cases.retention.sources import retention_sources
from shared.retention.admin import retention_admin_router

router = retention_admin_router(service="cases", sources=retention_sources, tables=retention, platform=platform)
