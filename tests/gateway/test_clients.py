"""Unit tests of the upstream clients (respx): forwarding, retries on reads only, error mapping."""

from __future__ import annotations

import httpx
import pytest
import respx

from gateway.clients.base import Caller, ServiceAPI, Upstream
from gateway.errors import ErrorCode, UpstreamError
from gateway.upstream import UpstreamModel


class Item(UpstreamModel):
    id: str


BASE = "http://cases.test"
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
async def api() -> ServiceAPI:
    upstream = Upstream("cases", BASE, timeout=1.0)
    caller = Caller.from_headers({"authorization": "Bearer tok123", "traceparent": TRACE}, "req-1")
    yield ServiceAPI(upstream, caller)
    await upstream.aclose()


@respx.mock
async def test_forwards_token_request_id_and_trace(api: ServiceAPI) -> None:
    route = respx.get(f"{BASE}/v1/people").mock(
        return_value=httpx.Response(200, json={"items": [], "next_cursor": None})
    )
    await api.batch(Item, "/v1/people", "ids", ["a", "b"])
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer tok123"
    assert request.headers["x-request-id"] == "req-1"
    version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id != "00f067aa0ba902b7" and len(span_id) == 16  # a new span under the caller's trace
    assert request.url.params["ids"] == "a,b"
    assert request.url.params["limit"] == "100"


@respx.mock
async def test_no_token_sends_no_authorization() -> None:
    upstream = Upstream("cases", BASE)
    route = respx.get(f"{BASE}/readyz").mock(return_value=httpx.Response(200, json={}))
    await upstream.request("GET", "/readyz", Caller(token=None, request_id=None))
    assert "authorization" not in route.calls.last.request.headers
    assert route.calls.last.request.headers["traceparent"].startswith("00-")
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


def test_malformed_traceparent_starts_a_new_trace() -> None:
    caller = Caller.from_headers({"traceparent": "garbage"}, None)
    assert len(caller.trace_id) == 32
    zero = Caller.from_headers({"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"}, None)
    assert zero.trace_id != "0" * 32
