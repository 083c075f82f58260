"""Unit tests of the upstream clients (respx): forwarding, the trace context, retries on reads only, errors."""

from __future__ import annotations

import httpx
import pytest
import respx
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.clients.base import Caller, ServiceAPI, Upstream
from gateway.errors import ErrorCode, UpstreamError
from gateway.upstream import UpstreamModel
from shared.tracing import configure_tracing, instrument_httpx


class Item(UpstreamModel):
    id: str


BASE = "http://cases.test"
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # a client's: the gateway does not pass it on


@pytest.fixture
async def api() -> ServiceAPI:
    upstream = Upstream("cases", BASE, timeout=1.0)
    caller = Caller.from_headers({"authorization": "Bearer tok123", "traceparent": TRACE}, "req-1")
    yield ServiceAPI(upstream, caller)
    await upstream.aclose()


@respx.mock
async def test_forwards_token_request_id_and_trace(api: ServiceAPI) -> None:
    """The `traceparent` a service receives is the gateway's exported client span, child of the current span
    (the GraphQL request's server span in the app), put there by the httpx instrumentation — never made by hand."""
    exporter = InMemorySpanExporter()
    assert configure_tracing("gateway-clients-test", None, processor=SimpleSpanProcessor(exporter))
    instrument_httpx()
    route = respx.get(f"{BASE}/v1/people").mock(
        return_value=httpx.Response(200, json={"items": [], "next_cursor": None})
    )
    with trace.get_tracer("tests.gateway").start_as_current_span("POST /graphql") as request_span:
        await api.batch(Item, "/v1/people", "ids", ["a", "b"])
    exporter.shutdown()
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer tok123"
    assert request.headers["x-request-id"] == "req-1"
    version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
    parent = request_span.get_span_context()
    assert (version, int(trace_id, 16), int(flags, 16) & 1) == ("00", parent.trace_id, 1)  # sampled
    assert trace_id != TRACE.split("-")[1], "the client's own traceparent header is not forwarded"
    client_span = next(s for s in exporter.get_finished_spans() if s.context and s.context.span_id == int(span_id, 16))
    assert client_span.kind == trace.SpanKind.CLIENT
    assert client_span.parent is not None and client_span.parent.span_id == parent.span_id
    assert request.url.params["ids"] == "a,b"
    assert request.url.params["limit"] == "100"


@respx.mock
async def test_no_token_sends_no_authorization() -> None:
    upstream = Upstream("cases", BASE)
    route = respx.get(f"{BASE}/readyz").mock(return_value=httpx.Response(200, json={}))
    await upstream.request("GET", "/readyz", Caller(token=None, request_id=None))
    assert "authorization" not in route.calls.last.request.headers
    await upstream.aclose()


@respx.mock
async def test_get_is_retried_once_on_transport_error(api: ServiceAPI) -> None:
    route = respx.get(f"{BASE}/v1/workers").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"items": [{"id": "w"}]})]
    )
    assert await api.batch(Item, "/v1/workers", "ids", ["w"]) == [Item(id="w")]
    assert route.call_count == 2


@respx.mock
async def test_get_is_retried_once_on_503_then_gives_up(api: ServiceAPI) -> None:
    route = respx.get(f"{BASE}/v1/workers").mock(return_value=httpx.Response(503, json={"detail": "db down"}))
    with pytest.raises(UpstreamError) as caught:
        await api.get("/v1/workers")
    assert route.call_count == 2
    assert caught.value.code == ErrorCode.UPSTREAM_UNAVAILABLE
    assert "db down" not in caught.value.message  # server-side details stay upstream


@respx.mock
async def test_post_is_never_retried(api: ServiceAPI) -> None:
    route = respx.post(f"{BASE}/v1/cases/c1/close").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(UpstreamError) as caught:
        await api.send("POST", "/v1/cases/c1/close", {"outcome": "needs_met"})
    assert route.call_count == 1
    assert caught.value.code == ErrorCode.UPSTREAM_UNAVAILABLE


@respx.mock
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ErrorCode.UNAUTHENTICATED),
        (403, ErrorCode.FORBIDDEN),
        (404, ErrorCode.NOT_FOUND),
        (409, ErrorCode.CONFLICT),
        (412, ErrorCode.CONFLICT),
        (400, ErrorCode.BAD_USER_INPUT),
        (422, ErrorCode.BAD_USER_INPUT),
        (500, ErrorCode.UPSTREAM_UNAVAILABLE),
    ],
)
async def test_problem_status_maps_to_graphql_code(api: ServiceAPI, status: int, code: ErrorCode) -> None:
    problem = {
        "type": "https://earlyhelp.invalid/problems/x",
        "title": "t",
        "status": status,
        "detail": f"detail {status}",
        "errors": [{"pointer": "/pupil/upn", "detail": "bad check letter"}],
    }
    respx.post(f"{BASE}/v1/x").mock(
        return_value=httpx.Response(status, json=problem, headers={"content-type": "application/problem+json"})
    )
    with pytest.raises(UpstreamError) as caught:
        await api.send("POST", "/v1/x", {})
    assert caught.value.code == code
    assert caught.value.extensions["code"] == code.value
    assert caught.value.extensions["service"] == "cases"
    if status < 500:
        assert caught.value.message == f"detail {status}"
        assert caught.value.field_errors == [{"field": "/pupil/upn", "message": "bad check letter"}]


@respx.mock
async def test_batch_follows_next_cursor(api: ServiceAPI) -> None:
    route = respx.get(f"{BASE}/v1/cases").mock(
        side_effect=[
            httpx.Response(200, json={"items": [{"id": "1"}], "next_cursor": "abc"}),
            httpx.Response(200, json={"items": [{"id": "2"}], "next_cursor": None}),
        ]
    )
    assert [i.id for i in await api.batch(Item, "/v1/cases", "family_ids", ["f"])] == ["1", "2"]
    assert route.calls[1].request.url.params["cursor"] == "abc"


@respx.mock
async def test_batch_splits_more_than_100_ids(api: ServiceAPI) -> None:
    route = respx.get(f"{BASE}/v1/people").mock(return_value=httpx.Response(200, json={"items": []}))
    await api.batch(Item, "/v1/people", "ids", [str(i) for i in range(150)])
    assert route.call_count == 2
    assert len(route.calls[0].request.url.params["ids"].split(",")) == 100
