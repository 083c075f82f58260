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
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_httpx_instrumented = False
EXCLUDED = "healthz,readyz,metrics"


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
    """Server spans for every route (continuing an incoming `traceparent`) and client spans for httpx."""
    # one server span per request: ASGI `receive`/`send` spans would add two or more per request to no one's use
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED, exclude_spans=["receive", "send"])
    instrument_httpx()


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
