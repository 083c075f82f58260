"""The typed dependencies the handlers take: callers by role, settings, and each domain's service built per request.

Only these functions read `request.app.state` (what `create_app` built once: settings, the pooled HTTP client, the
need catalogue); handlers never do.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Header, Request

from referrals.config import Settings
from referrals.intake.repository import IntakeRepository
from referrals.intake.service import IntakeService, Peers
from referrals.needs import NeedCatalogue
from referrals.triage.repository import ReferralRepository
from referrals.triage.service import TriageService
from referrals.webhooks.repository import WebhookRepository
from referrals.webhooks.service import WebhooksService
from shared.auth import Principal, require_roles
from shared.caseload import CaseloadClient
from shared.db import SessionDep
from shared.idempotency import KEY_SCHEMA

Referrer = Annotated[Principal, Depends(require_roles("partner_system", "practitioner", "admin"))]
Reader = Annotated[
    Principal, Depends(require_roles("partner_system", "practitioner", "hub_manager", "admin", "service"))
]
Decider = Annotated[Principal, Depends(require_roles("hub_manager", "admin"))]
PartnerOrAdmin = Annotated[Principal, Depends(require_roles("partner_system", "admin"))]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required from partner systems: the same key and body replay the first response (8 to 128 "
        "letters, digits, `-`, `_`, `.` or `:`, e.g. a UUID)",
        json_schema_extra=KEY_SCHEMA,  # checked by the intake service: a malformed key is a 400
    ),
]

# The dependencies are `async`: FastAPI runs a plain `def` dependency in the thread pool, a thread hop per request.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_intake(request: Request, session: SessionDep) -> IntakeService:
    # settings and peers read here rather than as dependencies of their own: intake is the hot path, and each
    # dependency FastAPI resolves costs more than reading the app state
    state = request.app.state
    settings: Settings = state.settings
    needs: NeedCatalogue = state.needs
    http: httpx.AsyncClient = state.http
    return IntakeService(IntakeRepository(session), settings, Peers(needs=needs, http=http))


async def caseload_of(request: Request) -> CaseloadClient:
    """The client asking cases which families a practitioner works with (built at startup, pooled connections)."""
    caseload: CaseloadClient = request.app.state.caseload
    return caseload


CaseloadDep = Annotated[CaseloadClient, Depends(caseload_of)]


async def get_triage(session: SessionDep, caseload: CaseloadDep) -> TriageService:
    return TriageService(ReferralRepository(session), caseload)


async def get_webhooks(session: SessionDep, settings: SettingsDep) -> WebhooksService:
    return WebhooksService(WebhookRepository(session), settings.environment)


IntakeServiceDep = Annotated[IntakeService, Depends(get_intake)]
TriageServiceDep = Annotated[TriageService, Depends(get_triage)]
WebhooksServiceDep = Annotated[WebhooksService, Depends(get_webhooks)]
