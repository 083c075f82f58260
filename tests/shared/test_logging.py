"""JSON log lines: the request's trace and span ids, one `http_request` line per request, uvicorn's lines too."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.logging import configure_logging, json_formatter
from shared.middleware import PlatformMiddleware
from shared.tracing import configure_tracing, instrument_app


async def test_a_request_logs_json_lines_naming_its_trace_span_and_route(capsys: pytest.CaptureFixture[str]) -> None:
    exporter = InMemorySpanExporter()
    assert configure_tracing("logging-test", None, processor=SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def read_thing(thing_id: str) -> dict[str, str]:
        structlog.get_logger("tests.logging").info("thing_read", thing_id=thing_id)
        return {"id": thing_id}

    app.add_middleware(PlatformMiddleware)
    instrument_app(app)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("logging-test")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.get("/things/42", params={"q": "Quillfeather"}, headers={"X-Request-ID": "r-1"})
            assert response.status_code == 200
            assert (await client.get("/healthz")).status_code == 404  # not a route here, but never logged
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        exporter.shutdown()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    [server] = [s for s in exporter.get_finished_spans() if s.name == "GET /things/{thing_id}"]
    assert server.context is not None
    ids = {"trace_id": format(server.context.trace_id, "032x"), "span_id": format(server.context.span_id, "016x")}
    [read] = [line for line in lines if line["event"] == "thing_read"]
    assert {k: read[k] for k in ("trace_id", "span_id", "request_id", "service")} == {
        **ids,
        "request_id": "r-1",
        "service": "logging-test",
    }
    [request] = [line for line in lines if line["event"] == "http_request"]
    assert {k: request[k] for k in ("method", "route", "status", "trace_id", "span_id", "logger")} == {
        "method": "GET",
        "route": "/things/{thing_id}",
        "status": 200,
        **ids,
        "logger": "shared.access",
    }
    assert "Quillfeather" not in json.dumps(lines), "no query string in the logs"


def test_uvicorns_lines_are_json_through_the_shipped_formatter() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (42,), None)
    line = json.loads(json_formatter().format(record))
    assert (line["event"], line["logger"], line["level"]) == ("Started server process [42]", "uvicorn.error", "info")
