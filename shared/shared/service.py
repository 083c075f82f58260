"""`create_service_app()`: the one way a service is assembled.

It wires settings, logging, the database, token verification, problem+json errors, request ids, metrics,
health checks, the body size limit, the event consumer endpoint, the outbox admin calls and the outbox relay,
so that each service's own `app.py` only names its routers and event handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, FastAPI

from shared.auth import TokenVerifier, dev_jwks
from shared.db import Database
from shared.docs_ui import install_docs_ui
from shared.errors import install_error_handlers
from shared.events import (
    EventHandler,
    OutboxRelay,
    events_router,
    outbox_admin_router,
    sync_internal_subscriptions,
)
from shared.health import health_router
from shared.limits import BodyLimit, RateLimiter, TimeLimit
from shared.logging import configure_logging
from shared.metrics import metrics_endpoint
from shared.middleware import PlatformMiddleware, RequestPolicy
from shared.openapi import document_openapi
from shared.platform_tables import PlatformTables
from shared.privacy import LINK as PRIVACY_LINK
from shared.privacy import privacy_router
from shared.settings import EventSubscriber, ServiceSettings
from shared.tracing import configure_tracing, instrument_app

log = structlog.get_logger("shared.service")
BackgroundTask = Callable[[FastAPI, asyncio.Event], Coroutine[Any, Any, None]]
Hook = Callable[[FastAPI], Awaitable[None]]


def build_verifier(settings: ServiceSettings, client: httpx.AsyncClient | None = None) -> TokenVerifier:
    if settings.jwks_url:
        return TokenVerifier(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks_url=settings.jwks_url,
            leeway=settings.jwt_leeway_seconds,
            max_age=settings.jwks_max_age_seconds,
            http_client=client,
        )
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        jwks=dev_jwks(settings.signing_key_path),
        leeway=settings.jwt_leeway_seconds,
    )


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    service_dir: Path,
    tables: PlatformTables,
    routers: Sequence[APIRouter],
    event_handlers: Mapping[str, EventHandler] | None = None,
    subscribers: Sequence[EventSubscriber] = (),
    background_tasks: Sequence[BackgroundTask] = (),
    on_startup: Sequence[Hook] = (),
    body_limit_overrides: dict[str, int] | None = None,
    timeout_overrides: dict[str, float] | None = None,
    relay_client: Callable[[], httpx.AsyncClient] | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    """Assemble a service. Tests may set `app.state.sessionmaker` before startup to own the transaction."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        db, replica = _open_databases(app, settings, timeout_overrides)
        app.state.http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        app.state.verifier = getattr(app.state, "verifier", None) or build_verifier(settings, app.state.http)
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        delivery: httpx.AsyncClient | None = None
        try:
            with contextlib.suppress(Exception):
                async with app.state.sessionmaker() as session, session.begin():
                    await sync_internal_subscriptions(session, tables, subscribers, settings.event_secret)
            for hook in on_startup:
                await hook(app)
            # Everything alive now (modules, tables, models, warmed caches) lives as long as the process: move it out
            # of the garbage collector's reach. Otherwise each full collection walks it all, stalling every request
            # in flight for 100-130 ms every few seconds under load (measured on the referrals intake p99).
            gc.collect()
            gc.freeze()
            if settings.relay_enabled:
                # the service may deliver through its own client (referrals: partner hosts checked at delivery)
                delivery = relay_client() if relay_client is not None else None
                app.state.relay = relay = _relay(db, tables, settings, delivery)
                tasks.append(asyncio.create_task(relay.run_forever(stop), name="outbox-relay"))
            for task_fn in background_tasks:
                tasks.append(asyncio.create_task(task_fn(app, stop)))
            log.info("service_started", port=settings.port, environment=settings.environment.value)
            yield
        finally:
            stop.set()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=10)
                for task in pending:
                    task.cancel()
            await app.state.http.aclose()
            if delivery is not None:
                await delivery.aclose()
            await db.dispose()
            if replica is not None:
                await replica.dispose()
            log.info("service_stopped")

    app = FastAPI(
        title=title,
        description=f"{description}\n\n{PRIVACY_LINK}",
        version=version,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tables = tables
    install_error_handlers(app)
    _install_middleware(app, settings, body_limit_overrides, timeout_overrides)
    configure_tracing(settings.service_name, settings.otlp_endpoint)
    instrument_app(app)  # the server span outermost
    _install_routes(app, settings, service_dir, tables, event_handlers, routers)
    document_openapi(app)  # security and the problem responses each operation can give (shared.openapi)
    install_docs_ui(app)  # Swagger UI at /docs from shipped files, no CDN (shared.docs_ui)
    return app


def _open_databases(
    app: FastAPI, settings: ServiceSettings, timeout_overrides: dict[str, float] | None
) -> tuple[Database, Database | None]:
    """The primary (and the read replica, when configured); tests may have put their own sessionmakers first."""
    db = Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # A statement may run as long as the longest request time limit (a whole-cohort evaluation or a
        # million-row import is one statement); each request's own limit still ends it sooner.
        command_timeout=max([settings.request_timeout_seconds, *(timeout_overrides or {}).values()]),
    )
    app.state.db = db
    if getattr(app.state, "sessionmaker", None) is None:
        app.state.sessionmaker = db.sessionmaker
    replica = None
    if settings.read_replica_url and getattr(app.state, "read_sessionmaker", None) is None:
        replica = Database(settings.read_replica_url, pool_size=5, max_overflow=5)
        app.state.read_sessionmaker = replica.sessionmaker
    return db, replica


def _relay(
    db: Database, tables: PlatformTables, settings: ServiceSettings, delivery: httpx.AsyncClient | None
) -> OutboxRelay:
    return OutboxRelay(
        db,
        tables,
        batch_size=settings.outbox_batch_size,
        max_attempts=settings.outbox_max_attempts,
        backoff_base=settings.outbox_backoff_base,
        backoff_max=settings.outbox_backoff_max,
        timeout=settings.outbox_delivery_timeout,
        poll_interval=settings.outbox_poll_interval,
        client=delivery,
    )


def _install_middleware(
    app: FastAPI,
    settings: ServiceSettings,
    body_limit_overrides: dict[str, int] | None,
    timeout_overrides: dict[str, float] | None,
) -> None:
    """Request id, rate limit by verified principal, body size, time limit, error masking, private headers,
    metrics and the access line: one layer (`shared.middleware`)."""
    policy = RequestPolicy(
        body=BodyLimit(settings.max_body_bytes, body_limit_overrides or {}),
        rate=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        time=TimeLimit(settings.request_timeout_seconds, timeout_overrides or {}),
    )
    app.add_middleware(PlatformMiddleware, policy=policy)


def _install_routes(
    app: FastAPI,
    settings: ServiceSettings,
    service_dir: Path,
    tables: PlatformTables,
    event_handlers: Mapping[str, EventHandler] | None,
    routers: Sequence[APIRouter],
) -> None:
    """What every service serves (health, metrics, events, outbox admin, privacy notice), then its own routers."""
    app.include_router(health_router(settings.service_name, service_dir))
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    if event_handlers:
        app.include_router(events_router(tables, event_handlers, lambda request: settings.event_secret))
    app.include_router(outbox_admin_router(tables))
    app.include_router(privacy_router(settings))
    for router in routers:
        app.include_router(router)
