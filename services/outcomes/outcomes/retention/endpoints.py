"""`POST /v1/admin/retention/run` on the outcomes service."""

from __future__ import annotations

from outcomes.models import platform, retention
from outcomes.retention.sources import retention_sources
from shared.retention.admin import retention_admin_router

router = retention_admin_router(service="outcomes", sources=retention_sources, tables=retention, platform=platform)
