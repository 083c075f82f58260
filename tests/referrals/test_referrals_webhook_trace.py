"""A partner's webhook delivery carries none of the platform's trace context, while an internal subscriber's
delivery of the same event continues the trace (so the absence is not tracing being off)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Request
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.models import platform
from referrals.webhooks import delivery as webhooks
from shared.events import OutboxRelay, sync_internal_subscriptions
from shared.settings import Environment, EventSubscriber
from shared.tracing import configure_tracing, instrument_httpx
from tests.referrals.conftest import MatchNow, create_maternity, hub_manager, partner
from tests.support import serve_asgi

TRACE_HEADERS = ("traceparent", "tracestate", "baggage")


class _Recorder:
    """Both receivers: what each path was sent, headers and body as they arrived."""

    def __init__(self) -> None:
        self.received: dict[str, list[tuple[dict[str, str], dict[str, Any]]]] = {}
        self.app = FastAPI()

        @self.app.post("/{path}")
        async def receive(path: str, request: Request) -> dict[str, str]:
            self.received.setdefault(path, []).append((dict(request.headers), await request.json()))
            return {"status": "ok"}


class _Db:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.url = ""


async def test_partner_deliveries_carry_no_internal_trace_context(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession], match_now: MatchNow
) -> None:
    exporter = InMemorySpanExporter()
    assert configure_tracing("referrals-webhook-trace", None, processor=SimpleSpanProcessor(exporter))
    instrument_httpx()
    recorder = _Recorder()
    async with serve_asgi(recorder.app) as base:
        created = await client.post("/v1/webhooks", json={"url": f"{base}/partner"}, headers=partner())
        assert created.status_code == 201, created.text
        async with referrals_sessions() as session, session.begin():
            internal = EventSubscriber(
                name="trace-check", url=f"{base}/internal", event_types=["referral.status_changed"]
            )
            await sync_internal_subscriptions(session, platform, [internal], "trace-secret")
        with trace.get_tracer("tests.referrals").start_as_current_span("triage") as triage:
            mine = (await create_maternity(client)).json()
            await match_now()
            decided = await client.post(
                f"/v1/referrals/{mine['id']}/decision",
                headers=hub_manager("north"),
                json={"outcome": "accepted", "reason": "Family agreed"},
            )
            assert decided.status_code == 200, decided.text
        relay = OutboxRelay(
            _Db(referrals_sessions),  # type: ignore[arg-type]
            platform,
            timeout=5,
            client=webhooks.delivery_client(Environment.test, trusted_urls=[internal.url]),
        )
        try:
            assert await relay.run_once() == 2
        finally:
            if relay._client is not None:
                await relay._client.aclose()
    exporter.shutdown()
    trace_id = format(triage.get_span_context().trace_id, "032x")

    [(internal_headers, internal_event)] = recorder.received["internal"]
    assert internal_headers["traceparent"].split("-")[1] == trace_id, "the internal delivery continues the trace"
    assert internal_event["traceparent"].split("-")[1] == trace_id

    [(partner_headers, partner_event)] = recorder.received["partner"]
    assert partner_event["id"] == internal_event["id"] and partner_event["type"] == "referral.status_changed"
    assert [h for h in TRACE_HEADERS if h in partner_headers] == [], partner_headers
    assert "x-request-id" not in partner_headers
    assert "traceparent" not in partner_event and trace_id not in str(partner_event)
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(partner_headers)
    # the relay's own span of the partner delivery stays in our trace, exported, with no client span under it
    delivered = [s for s in exporter.get_finished_spans() if s.name == "deliver referral.status_changed"]
    assert len(delivered) == 2 and all(s.context and format(s.context.trace_id, "032x") == trace_id for s in delivered)
