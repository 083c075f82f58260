"""`POST /v1/admin/retention/run` on the referrals service."""

from __future__ import annotations

from referrals.models import platform, retention
from referrals.retention.sources import retention_sources
from shared.retention.admin import retention_admin_router

router = retention_admin_router(service="referrals", sources=retention_sources, tables=retention, platform=platform)
