"""The referrals service application."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import httpx
import structlog
from fastapi import FastAPI

from referrals.config import SERVICE_DIR, Settings
from referrals.figures.endpoints import router as figures_router
from referrals.hub_mapping.endpoints import router as hub_mapping_router
from referrals.intake import endpoints as intake_endpoints
from referrals.intake.fhir_endpoints import fhir_router
from referrals.intake.intelligence import intelligence_handlers
from referrals.intake.matching import PersonMatcher
from referrals.intake.repository import IntakeRepository
from referrals.intake.service import IntakeService, Peers
from referrals.intake.transport import KeepAliveTransport
from referrals.models import Base, platform
from referrals.needs import NeedCatalogue
from referrals.retention.consent import router as consent_router
from referrals.retention.endpoints import router as retention_router
from referrals.retention.rights import RIGHTS_EVENT_HANDLERS
from referrals.subject_access import router as subject_access_router
from referrals.triage import endpoints as triage_endpoints
from referrals.triage.case_events import EVENT_HANDLERS
from referrals.triage.working_days import decision_due_at
from referrals.webhooks import endpoints as webhook_endpoints
from referrals.webhooks.delivery import delivery_client
from shared.auth import ServiceCredentials
from shared.caseload import CaseloadClient
from shared.idempotency import purge_loop
from shared.service import create_service_app

log = structlog.get_logger("referrals.app")


async def retry_matching_once(app: FastAPI) -> int:
    """One pass of the background matching retry (also called directly by tests and operators)."""
    settings: Settings = app.state.settings
    matcher: PersonMatcher = app.state.matcher
    # While cases is failing, a pass only probes it with one referral: loading, locking and rescheduling a whole
    # batch every pass only to fail on its first referral cost intake a latency spike (p99) every interval.
    limit = 1 if matcher.failing else settings.match_retry_batch
    peers = Peers(
        needs=app.state.needs, matcher=matcher, http=app.state.http, match_http=getattr(app.state, "match_http", None)
    )
    async with app.state.sessionmaker() as session, session.begin():
        intake = IntakeService(IntakeRepository(session), settings, peers)
        return await intake.retry_pending_matching(limit=limit, interval=settings.match_retry_interval)


async def matching_retry_loop(app: FastAPI, stop: asyncio.Event) -> None:
    """Retry pending matching until cases answers. Replicas share the work (`FOR UPDATE SKIP LOCKED`)."""
    settings: Settings = app.state.settings
    if settings.match_retry_interval <= 0:
        return
    if app.state.sessionmaker is not app.state.db.sessionmaker:
        # A test owns the transaction (one connection): a background task must not interleave with it.
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.match_retry_interval)
        if stop.is_set():
            break
        try:
            await retry_matching_once(app)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database may be down: keep the loop alive
            log.warning("matching_retry_error", error_type=type(exc).__name__, error=str(exc)[:200])


async def match_client(app: FastAPI, stop: asyncio.Event) -> None:
    """The matcher's HTTP client to cases (a lean keep-alive transport, `intake.transport`), open while the
    service runs and closed when it stops."""
    settings: Settings = app.state.settings
    app.state.match_http = httpx.AsyncClient(
        transport=KeepAliveTransport(), timeout=settings.match_timeout_seconds, trust_env=False
    )
    try:
        await stop.wait()
    finally:
        await app.state.match_http.aclose()
        app.state.match_http = None


async def warm_up(app: FastAPI) -> None:
    """Pay the one-off costs at startup, not in requests.

    - The first decision deadline imports the `holidays` package with every country in it (about a second) and
      builds this year's calendar (and next January's).
    - The service token for calls to cases and outcomes is minted (loading the signing key) now.
    - The client that asks cases which families a practitioner works with shares the pooled HTTP client.
    (`create_service_app` then freezes everything alive out of the garbage collector's reach.)
    """
    settings: Settings = app.state.settings
    now = datetime.now(UTC)
    decision_due_at(now, settings.decision_working_days)
    decision_due_at(now.replace(month=12, day=31), settings.decision_working_days)
    app.state.caseload = CaseloadClient(app.state.http, settings.cases_url, timeout=settings.caseload_timeout_seconds)
    with contextlib.suppress(Exception):  # in production a configured token; a dev key may be missing
        app.state.needs.credentials.headers()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    credentials = ServiceCredentials(settings)
    app = create_service_app(
        settings=settings,
        title="Referrals service",
        description=(
            "Maternity, school and partner referrals (police, health, housing, probation, voluntary sector): "
            "validation, idempotency, consent, triage, hub allocation and status callbacks."
        ),
        service_dir=SERVICE_DIR,
        tables=platform,
        routers=[
            intake_endpoints.router,
            triage_endpoints.router,
            webhook_endpoints.router,
            fhir_router,
            subject_access_router,
            figures_router,
            retention_router,
            consent_router,
            hub_mapping_router,
        ],
        # /fhir answers oversize Bundles itself, as an OperationOutcome (1 MiB limit in fhir_endpoints)
        body_limit_overrides={"/fhir": 16 * 1_048_576},
        event_handlers={**EVENT_HANDLERS, **intelligence_handlers(settings), **RIGHTS_EVENT_HANDLERS},
        subscribers=settings.subscribers,
        background_tasks=[match_client, matching_retry_loop, purge_loop(Base.metadata.tables["idempotency_keys"])],
        on_startup=[warm_up],
        # partner webhooks: the host is resolved and checked again at every delivery, the connection pinned (F4)
        relay_client=lambda: delivery_client(
            settings.environment,
            trusted_urls=[s.url for s in settings.subscribers],
            timeout=settings.outbox_delivery_timeout,
        ),
    )
    app.state.needs = NeedCatalogue(
        outcomes_url=settings.outcomes_url,
        credentials=credentials,
        cache_seconds=settings.framework_cache_seconds,
        timeout=settings.outcomes_timeout_seconds,
    )
    app.state.matcher = PersonMatcher(
        cases_url=settings.cases_url,
        credentials=credentials,
        timeout=settings.match_timeout_seconds,
        backoff=settings.cases_backoff_seconds,
    )
    return app
