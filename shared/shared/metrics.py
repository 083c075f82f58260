"""Prometheus metrics shared by every service and the gateway, served on `GET /metrics`.

The HTTP metrics are labelled by the matched route template (`/v1/referrals/{referral_id}`, `/graphql`), never by
the raw path. The outbox and database pool metrics live in their own registry, served only by a service (an app
built by `shared.service.create_service_app`, which has platform tables): the gateway has no outbox.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404): one series, whatever the path."""

REQUESTS = Counter("http_requests_total", "HTTP requests by route and status", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SERVICE_REGISTRY = CollectorRegistry()
"""Metrics only a service has (its outbox, its database pool); `/metrics` of the gateway leaves them out."""
OUTBOX_DELIVERIES = Counter(
    "outbox_deliveries_total", "Outbox delivery attempts by result", ["result"], registry=SERVICE_REGISTRY
)
OUTBOX_LAG = Histogram(
    "outbox_publish_lag_seconds",
    "Time from an event's commit to its successful delivery",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=SERVICE_REGISTRY,
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Pending outbox deliveries", registry=SERVICE_REGISTRY)
OUTBOX_DEAD = Gauge("outbox_dead_letters", "Dead-lettered outbox deliveries", registry=SERVICE_REGISTRY)
DB_POOL_IN_USE = Gauge("db_pool_connections_in_use", "Database connections checked out", registry=SERVICE_REGISTRY)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count a request and its latency by route template (never by raw path, which may hold ids)."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (FastAPI records it in the scope, with the prefixes of
    included routers); for a request a middleware answered before routing (429, 413), the route it would match."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) if context is not None else None
    if (
        template is None
        and scope.get("route") is not None
        and scope.get("router") is getattr(scope.get("app"), "router", None)
    ):
        template = getattr(scope["route"], "path_format", None) or getattr(scope["route"], "path", None)
    return template or _match(scope)


def _match(scope: Scope) -> str:
    router = getattr(scope.get("app"), "router", None)
    partial = None
    for route in iter_route_contexts(getattr(router, "routes", [])):
        match, _ = _matches(route, scope)
        if match == Match.FULL:
            return str(route.path_format or route.path or UNMATCHED)
        if match == Match.PARTIAL and partial is None:  # the path matches, the method does not (a 405)
            partial = str(route.path_format or route.path or UNMATCHED)
    return partial or UNMATCHED


def _matches(route: Any, scope: Scope) -> tuple[Match, Any]:
    regex = getattr(route, "path_regex", None)
    if regex is None or scope["type"] != "http" or not regex.match(scope.get("path", "")):
        return Match.NONE, {}
    methods = getattr(route, "methods", None)
    return (Match.FULL if not methods or scope.get("method") in methods else Match.PARTIAL), {}


async def metrics_endpoint(request: Request) -> Response:
    body = generate_latest(REGISTRY)
    if getattr(request.app.state, "tables", None) is not None:  # a service: it has an outbox and a pool
        body += generate_latest(SERVICE_REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
