"""One trace, exported over OTLP/HTTP by every process, from the gateway through referrals, cases and both
outboxes — and JSON log lines that name it.

The whole platform runs as real processes (uvicorn, started with the log config of `earlyhelp up` and the
images), each told `<PREFIX>_OTLP_ENDPOINT` of a small OTLP/HTTP receiver on 127.0.0.1 in this test: what the
test reads is what a collector would receive. A hub manager accepts a school referral through the gateway; that
one GraphQL request's trace must hold the gateway's server and client spans, the referrals decision, the relay's
delivery of `referral.accepted`, its handling in cases, the delivery of `case.opened` and its handling back in
referrals — each span's parent exported too (no parent made up by hand), the gateway's server span the root.
"""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.tracing import untraced_http
from tests.e2e.stack import HUB, Stack, eventually, platform
from tests.e2e.test_story import DECIDE, SUBMIT, Gateway, school_referral_input
from tests.support import make_token, serve_asgi
from tests.support.triage import confirm_new_people

pytestmark = pytest.mark.e2e

PARTNER = make_token("partner_system", sub="trace-mis", agency="SCH-LS-001", agency_type="school")
MANAGER = make_token("hub_manager", sub="trace-manager", agency="LCC", agency_type="council", hubs=[HUB])
SERVER, CLIENT, PRODUCER = SpanProto.SPAN_KIND_SERVER, SpanProto.SPAN_KIND_CLIENT, SpanProto.SPAN_KIND_PRODUCER


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str | None


class Receiver:
    """A minimal OTLP/HTTP traces receiver (`POST /v1/traces`, protobuf, as the SDK's exporter sends it)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.app = Starlette(routes=[Route("/v1/traces", self.export, methods=["POST"])])

    async def export(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        for resource_spans in message.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    self.spans.append(
                        Span(
                            service=attributes.get("service.name", "?"),
                            name=s.name,
                            kind=s.kind,
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_id=s.parent_span_id.hex() or None,
                        )
                    )
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]


def _one(spans: list[Span], service: str, name: str, kind: int) -> Span:
    found = [s for s in spans if (s.service, s.name, s.kind) == (service, name, kind)]
    assert len(found) == 1, (service, name, found, spans)
    return found[0]


def _ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    chain: list[Span] = []
    while span.parent_id is not None:
        assert span.parent_id in by_id, f"{span} has a parent that was never exported"
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def _log_lines(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Every line each process wrote, each parsed as one JSON object (the test fails on any other line)."""
    lines: dict[str, list[dict[str, Any]]] = {}
    for name, process in stack.processes.processes.items():
        parsed = []
        for line in process.log_path.read_text().splitlines():
            if line.strip():
                value = json.loads(line)  # a plain-text line (uvicorn's, a traceback) fails here
                assert isinstance(value, dict), line
                parsed.append(value)
        lines[name] = parsed
    return lines


async def test_one_exported_trace_from_the_gateway_through_both_outboxes(
    server_url: str, referrals_db: str, cases_db: str, outcomes_db: str, intelligence_db: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    # The test is a client from outside the platform, as a browser is: its requests start no trace (another test
    # of this worker may have instrumented every httpx client of the process and installed a tracer provider).
    with untraced_http():
        async with serve_asgi(receiver.app) as collector:
            endpoint = f"{collector}/v1/traces"
            env = {f"{prefix}_OTLP_ENDPOINT": endpoint for prefix in ("GATEWAY", "REFERRALS", "CASES", "OUTCOMES")}
            env["OTEL_BSP_SCHEDULE_DELAY"] = "100"  # export every 100 ms rather than 5 s
            async with (
                platform(server_url, tmp_path, gateway=True, env=env) as stack,
                httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client,
            ):
                gql = Gateway(client, stack)
                submitted = await client.post(
                    "/graphql",
                    json={
                        "query": SUBMIT,
                        "variables": {"input": school_referral_input(301), "key": str(uuid.uuid4())},
                    },
                    headers={"Authorization": f"Bearer {PARTNER}"},
                )
                referral_id = submitted.json()["data"]["submitSchoolReferral"]["referral"]["id"]
                async with httpx.AsyncClient(base_url=stack.urls["referrals"], timeout=30) as referrals:
                    await confirm_new_people(referrals, referral_id, {"Authorization": f"Bearer {MANAGER}"})
                decided = await client.post(
                    "/graphql",
                    json={"query": DECIDE, "variables": {"id": referral_id}},
                    headers={"Authorization": f"Bearer {MANAGER}"},
                )
                assert decided.json()["data"]["decideReferral"]["referral"]["status"] == "ACCEPTED", decided.text
                decision_rid = decided.headers["x-request-id"]

                async def case_id() -> Any:
                    query = "query R($id: ID!) { referral(id: $id) { caseId } }"
                    return (await gql.data(query, PARTNER, id=referral_id))["referral"]["caseId"]

                await eventually(case_id, bool, timeout=60, what="the case opened for the referral")

                async def exported() -> bool:
                    # the last span of the journey (referrals handling `case.opened`) and the gateway's root span of the
                    # decision: each process exports on its own schedule
                    consumed = any((s.service, s.name) == ("referrals", "POST /v1/events") for s in receiver.spans)
                    return consumed and any(
                        s.service == "gateway"
                        and s.parent_id is None
                        and any(
                            t.name == "POST /v1/referrals/{referral_id}/decision" for t in receiver.trace(s.trace_id)
                        )
                        for s in receiver.spans
                    )

                await eventually(exported, bool, timeout=60, what="the consumer's span exported")
            logs = _log_lines(stack)  # after the processes stopped: every line written

    # the decision's trace: the root is the gateway's server span of that GraphQL request
    gateway_roots = [s for s in receiver.spans if s.service == "gateway" and s.parent_id is None]
    decision_root = next(
        r
        for r in gateway_roots
        if any(s.name == "POST /v1/referrals/{referral_id}/decision" for s in receiver.trace(r.trace_id))
    )
    spans = receiver.trace(decision_root.trace_id)
    by_id = {s.span_id: s for s in spans}
    assert (decision_root.name, decision_root.kind) == ("POST /graphql", SERVER)
    assert {s.service for s in spans} >= {"gateway", "referrals", "cases"}
    for span in spans:  # every parent exported: the chain always reaches the gateway's root span
        assert _ancestors(span, by_id)[-1:] in ([], [decision_root]), span

    decision = _one(spans, "referrals", "POST /v1/referrals/{referral_id}/decision", SERVER)
    gateway_call = by_id[decision.parent_id or ""]
    assert (gateway_call.service, gateway_call.kind, gateway_call.parent_id) == (
        "gateway",
        CLIENT,
        decision_root.span_id,
    )

    accepted = _one(spans, "referrals", "deliver referral.accepted", PRODUCER)
    assert decision in _ancestors(accepted, by_id)
    consumed = _one(spans, "cases", "POST /v1/events", SERVER)
    assert accepted in _ancestors(consumed, by_id)
    assert by_id[consumed.parent_id or ""].kind == CLIENT  # the relay's httpx call, exported by referrals
    opened = _one(spans, "cases", "deliver case.opened", PRODUCER)
    assert consumed in _ancestors(opened, by_id)
    back_home = _one(spans, "referrals", "POST /v1/events", SERVER)
    assert [s.name for s in _ancestors(back_home, by_id) if s.kind in (SERVER, PRODUCER)] == [
        "deliver case.opened",
        "POST /v1/events",
        "deliver referral.accepted",
        "POST /v1/referrals/{referral_id}/decision",
        "POST /graphql",
    ]

    # the submission is its own trace, also rooted at the gateway: gateway → referrals → cases (person match)
    submit_root = next(
        r for r in gateway_roots if any(s.name == "POST /v1/referrals/school" for s in receiver.trace(r.trace_id))
    )
    submission = receiver.trace(submit_root.trace_id)
    submit_by_id = {s.span_id: s for s in submission}
    matches = [s for s in submission if (s.service, s.name, s.kind) == ("cases", "POST /v1/people/match", SERVER)]
    assert matches, submission  # one per person on the referral
    for matched in matches:
        chain = [(s.service, s.name) for s in _ancestors(matched, submit_by_id) if s.kind == SERVER]
        assert chain == [("referrals", "POST /v1/referrals/school"), ("gateway", "POST /graphql")], chain

    # every line of every process is JSON, uvicorn's own included; request lines name their trace and span
    for name in ("gateway", "referrals", "cases", "outcomes"):
        assert any(line.get("logger") == "uvicorn.error" for line in logs[name]), f"no uvicorn line from {name}"
        # requests are logged once, by the app (`http_request`, with the route template), not by uvicorn
        assert not [line for line in logs[name] if line.get("logger") == "uvicorn.access"], name
        assert {line.get("service") for line in logs[name] if line.get("event") == "http_request"} == {name}
    decision_lines = [
        line
        for line in logs["referrals"]
        if line.get("event") == "http_request" and line.get("route") == "/v1/referrals/{referral_id}/decision"
    ]
    assert len(decision_lines) == 1, decision_lines
    assert decision_lines[0]["request_id"] == decision_rid and decision_lines[0]["status"] == 200
    assert (decision_lines[0]["trace_id"], decision_lines[0]["span_id"]) == (decision.trace_id, decision.span_id)
    consumer_lines = [
        line
        for line in logs["cases"]
        if line.get("event") == "http_request" and line.get("trace_id") == decision.trace_id
    ]
    assert [(line["route"], line["span_id"]) for line in consumer_lines] == [("/v1/events", consumed.span_id)]
