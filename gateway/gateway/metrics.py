"""The gateway's own Prometheus metrics (the shared HTTP metrics are served beside them on `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UPSTREAM_REQUESTS = Counter(
    "gateway_upstream_requests",
    "HTTP requests the gateway made to each service (every attempt, retries included)",
    ["service"],
)
UPSTREAM_LATENCY = Histogram(
    "gateway_upstream_request_duration_seconds",
    "Latency of the gateway's calls to each service",
    ["service"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
UPSTREAM_ERRORS = Counter(
    "gateway_upstream_errors",
    "Upstream calls that failed, by service and kind (status code or transport)",
    ["service", "kind"],
)
