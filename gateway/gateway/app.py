"""`create_app(settings)`: the gateway's FastAPI app with the GraphQL router at `/graphql`.

Run it with `uvicorn gateway.app:create_app --factory`. The gateway owns no tables; it talks to the services
over HTTP only, with one pooled client per service opened and closed with the lifespan. Beside `/graphql` it
serves the data team's cohort report at `GET /reports/cohort` and the commissioning need profile at
`GET /reports/need-profile` (`gateway.reports`).

With `GATEWAY_OTLP_ENDPOINT` set it exports its spans (`shared.tracing`): a server span per request and a client
span per call to a service, whose `traceparent` the services continue, so one trace runs from the gateway through
the services and their outboxes.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter

from gateway.clients import SERVICES, Caller, Services, Upstreams
from gateway.clients.base import CallBudget
from gateway.config import Settings
from gateway.context import Context
from gateway.explorer import install_developer_pages
from gateway.health import ReadinessCache
from gateway.loaders import DataLoaders
from gateway.media import GraphQLResponseMediaType
from gateway.reports.route import router as reports_router
from gateway.schema import build_schema
from shared.auth import dev_jwks
from shared.errors import PROBLEM_BASE, PROBLEM_JSON, install_error_handlers
from shared.health import Alive
from shared.limits import BodyLimit, RateLimiter
from shared.logging import configure_logging, current_request_id
from shared.metrics import metrics_endpoint
from shared.middleware import PlatformMiddleware, RequestPolicy
from shared.openapi import document_openapi
from shared.privacy import LINK as PRIVACY_LINK
from shared.privacy import privacy_router
from shared.service import build_verifier
from shared.tracing import configure_tracing, instrument_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        upstreams: Upstreams = getattr(app.state, "upstreams", None) or Upstreams.from_settings(settings)
        app.state.upstreams = upstreams
        app.state.verifier = build_verifier(settings)  # for `me`; the services verify every token themselves
        app.state.readiness = ReadinessCache(upstreams, settings.health_cache_seconds)
        # What exists now (modules, the schema, the clients) lives as long as the process. Frozen, it is left out
        # of the collector's full passes, which would otherwise walk some 200k objects and stall the requests in
        # flight for tens of milliseconds each time.
        gc.freeze()
        try:
            yield
        finally:
            await upstreams.aclose()

    async def get_context(request: Request) -> Context:
        upstreams: Upstreams = request.app.state.upstreams
        caller = Caller.from_headers(request.headers, current_request_id(), CallBudget(settings.max_upstream_calls))
        services = Services.bind(upstreams, caller)
        return Context(
            settings=settings,
            caller=caller,
            upstreams=upstreams,
            services=services,
            data_loaders=DataLoaders.for_request(services),
            verifier=request.app.state.verifier,
            readiness=request.app.state.readiness,
        )

    graphql: GraphQLRouter[Context, None] = GatewayGraphQLRouter(
        build_schema(settings),
        context_getter=get_context,
        graphql_ide="graphiql" if settings.is_development else None,
        allow_queries_via_get=settings.is_development,
    )

    app = FastAPI(
        title="Early Help Platform gateway",
        description=(
            "One GraphQL graph over the referrals, cases, outcomes and intelligence services.\n\n" + PRIVACY_LINK
        ),
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if settings.is_development else None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(GraphQLResponseMediaType)  # application/graphql-response+json when accepted (issue 18)
    # The gateway checks no token before the limit (issue 19 F): its buckets are keyed on the client's address
    # only, so random or forged subjects neither escape the limit nor spend another client's budget. Behind a
    # proxy, run uvicorn with `--proxy-headers` and the proxy in `--forwarded-allow-ips`.
    rate = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst, by_principal=False)
    app.add_middleware(PlatformMiddleware, policy=RequestPolicy(body=BodyLimit(settings.max_body_bytes), rate=rate))
    configure_tracing(settings.service_name, settings.otlp_endpoint)
    instrument_app(app)  # the server span outermost
    app.include_router(graphql, prefix="/graphql")
    app.include_router(reports_router)
    app.include_router(privacy_router(settings))
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    document_openapi(app, optional_auth=("/graphql",))  # bearer scheme and problem responses (shared.openapi)
    install_developer_pages(app, graphql)  # GraphiQL and Swagger UI from shipped files, no CDN (gateway.explorer)

    _health_routes(app, settings)

    if not settings.is_production:

        @app.get("/.well-known/jwks.json", include_in_schema=False)
        async def jwks() -> dict[str, Any]:
            return dev_jwks(settings.signing_key_path)

    return app


class GatewayGraphQLRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, answering with orjson: the family page's result is some 1,000 values, and the standard
    library's encoder took about a twentieth of the gateway's CPU on it."""

    def encode_json(self, data: object) -> bytes:
        try:
            return orjson.dumps(data)
        except TypeError:  # a value orjson does not know: the standard encoder says what it is, as before
            return json.dumps(data, separators=(",", ":")).encode()


def _health_routes(app: FastAPI, settings: Settings) -> None:
    """`/healthz` (the process serves) and `/readyz` (every upstream service answers its own)."""

    @app.get("/healthz", summary="Liveness: the process is serving", tags=["health"])
    async def healthz() -> Alive:
        return Alive(status="ok", service=settings.service_name)

    @app.get("/readyz", summary="Readiness: every upstream service answers its /readyz", tags=["health"])
    async def readyz(request: Request) -> Any:
        readiness: ReadinessCache = request.app.state.readiness
        failing = {name: detail for name, detail in (await readiness.get()).items() if detail}
        if failing:
            body = {
                "type": PROBLEM_BASE + "not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": "; ".join(f"{name}: {detail}" for name, detail in failing.items()),
                "service": settings.service_name,
            }
            return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)
        return {"status": "ready", "service": settings.service_name, "upstreams": list(SERVICES)}
