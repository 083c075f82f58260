"""OpenTelemetry tracing: off unless an OTLP endpoint is configured (or a test installs an exporter).

One trace follows a referral's journey across processes, from the gateway through the services and their
outboxes: incoming requests continue the caller's `traceparent` (the FastAPI instrumentation), outgoing httpx
calls carry the current span's (the httpx instrumentation, through the global W3C propagator: nothing builds a
`traceparent` by hand), and an outbox event stores the `traceparent` of the transaction that wrote it so that the
relay's delivery — and the consumer's handling — join the same trace. Deliveries to a partner's webhook carry no
trace context (`untraced_http`): the trace is ours, not the partner's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode
from starlette.types import Scope

_httpx_instrumented = False
EXCLUDED = "healthz,readyz,metrics"
HTTP_ROUTE = "http.route"


def configure_tracing(service_name: str, otlp_endpoint: str | None, processor: SpanProcessor | None = None) -> bool:
    """Install a tracer provider exporting over OTLP/HTTP (or to `processor`). Returns whether tracing is on."""
    if not otlp_endpoint and processor is None:
        return False
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
    if processor is not None:
        provider.add_span_processor(processor)
    elif otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    return True


def instrument_app(app: FastAPI) -> None:
    """Server spans for every route (continuing an incoming `traceparent`) and client spans for httpx.

    Call it after adding the app's middleware: the server span is the outermost layer, so that every log line of
    the request carries its ids. OpenTelemetry's ASGI middleware opens the span named by the method alone, and
    `shared.middleware.PlatformMiddleware` names it by route template once routing has found the route
    (`name_server_span`): naming it up front, as the FastAPI instrumentation does, matches the path against every
    route of the app a second time on every request (a fifth of the CPU of a request through the middleware).
    """
    # one server span per request: ASGI `receive`/`send` spans would add two or more per request to no one's use
    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls=EXCLUDED,
        default_span_details=_method_only,
        exclude_spans=["receive", "send"],
    )
    instrument_httpx()


def _method_only(scope: Scope) -> tuple[str, dict[str, str]]:
    return scope.get("method") or "HTTP", {}


def name_server_span(method: str, route: str | None) -> None:
    """Name the current server span `METHOD /route/{template}` and set its `http.route` (a request no route
    matched keeps the method alone)."""
    span = trace.get_current_span()
    if route and span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute(HTTP_ROUTE, route)


def record_error(exc: BaseException) -> None:
    """Record an exception that no handler claimed on the current span, before it is answered as a problem."""
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def instrument_httpx() -> None:
    """Every httpx client of the process makes a client span per request and sends its `traceparent` (once)."""
    global _httpx_instrumented
    if not _httpx_instrumented:
        HTTPXClientInstrumentor().instrument()
        _httpx_instrumented = True


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, to store beside an outbox event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def continue_trace(traceparent: str | None, name: str, **attributes: Any) -> AbstractContextManager[Any]:
    """A span that continues the trace an outbox event was written in."""
    if not traceparent:
        return nullcontext()
    context = propagate.extract({"traceparent": traceparent})
    tracer = trace.get_tracer("earlyhelp.outbox")
    return tracer.start_as_current_span(name, context=context, kind=trace.SpanKind.PRODUCER, attributes=attributes)


@contextmanager
def untraced_http() -> Iterator[None]:
    """httpx calls made inside send no `traceparent`/`tracestate` and make no client span: for calls that leave
    the platform (a partner's webhook) and for health probes, which would otherwise start a trace each."""
    with suppress_http_instrumentation():
        yield
