"""The matcher's lean HTTP/1.1 transport against a real server: answers read whole (sized or chunked), kept-alive
connections reused, a connection the server closed replaced, the trace context passed on, refusals as httpx's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from referrals.intake.transport import KeepAliveTransport
from tests.support import free_port, serve_asgi


def peer(seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/people/match")
    async def match(request: Request) -> dict[str, Any]:
        client = request.scope["client"]
        seen.append({"body": await request.json(), "port": client[1] if client else None, **request.headers})
        return {"exact": [], "candidates": [], "echo": (await request.json())["family_name"]}

    @app.get("/chunked")
    async def chunked() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b'{"a": ', b"1", b"}"):
                yield part

        return StreamingResponse(parts(), media_type="application/json")

    @app.get("/closing")
    async def closing() -> Response:
        return Response(b"{}", media_type="application/json", headers={"Connection": "close"})

    return app


async def test_answers_are_read_and_connections_kept_alive() -> None:
    seen: list[dict[str, Any]] = []
    async with (
        serve_asgi(peer(seen)) as url,
        httpx.AsyncClient(transport=KeepAliveTransport(), base_url=url) as client,
    ):
        for name in ("Okafor", "Nguyễn", "O'Neill"):
            response = await client.post("/v1/people/match", json={"family_name": name})
            assert response.status_code == 200 and response.json()["echo"] == name
        assert len({s["port"] for s in seen}) == 1  # one kept-alive connection served the three
        assert (await client.get("/chunked")).json() == {"a": 1}
        assert (await client.get("/closing")).json() == {}
        assert (await client.post("/v1/people/match", json={"family_name": "Smith"})).json()["echo"] == "Smith"
        assert len({s["port"] for s in seen}) == 2  # the server closed one: a new connection


async def test_the_trace_context_is_passed_on() -> None:
    seen: list[dict[str, Any]] = []
    tracer = TracerProvider().get_tracer("test")
    async with (
        serve_asgi(peer(seen)) as url,
        httpx.AsyncClient(transport=KeepAliveTransport(), base_url=url) as client,
    ):
        with tracer.start_as_current_span("intake") as span, trace.use_span(span):
            await client.post("/v1/people/match", json={"family_name": "Smith"})
        trace_id = format(span.get_span_context().trace_id, "032x")
    assert seen[0]["traceparent"].split("-")[1] == trace_id


async def test_a_dead_peer_is_an_httpx_connect_error() -> None:
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{free_port()}/v1/people/match", json={})
