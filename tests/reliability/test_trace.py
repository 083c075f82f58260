"""One trace follows a referral's journey across processes: intake and decision in referrals, the outbox
delivery of `referral.accepted`, its handling in cases, the outbox delivery of `case.opened` and its handling
back in referrals.

The two services run as uvicorn servers on loopback ports in this test process, sharing one OpenTelemetry
TracerProvider with an in-memory exporter; everything between them is real HTTP and real outbox relays.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.tracing import configure_tracing
from tests.reliability.harness import MANAGER, PARTNER, add_hubs, maternity_payload, nhs_number
from tests.support import TEST_DATA_DIR, TEST_KEY_PATH, free_port, serve_asgi

pytestmark = pytest.mark.e2e


def _common(database_url: str, port: int) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "port": port,
        "environment": "test",
        "dev_key_path": TEST_KEY_PATH,
        "data_dir": TEST_DATA_DIR,
        "outbox_poll_interval": 0.05,
        "rate_limit_per_second": 0,
    }


def _port_of(span: ReadableSpan) -> int | None:
    attributes = span.attributes or {}
    for key in ("server.port", "net.host.port"):
        if key in attributes:
            return int(str(attributes[key]))
    for key in ("http.url", "url.full", "http.host", "server.address"):
        value = str(attributes.get(key, ""))
        if ":" in value:
            tail = value.rsplit(":", 1)[1].split("/", 1)[0]
            if tail.isdigit():
                return int(tail)
    return None


async def test_one_trace_from_referral_to_case_and_back(
    fresh_referrals_db: str, fresh_cases_db: str, tmp_path: Path
) -> None:
    from cases.app import create_app as create_cases
    from cases.config import Settings as CasesSettings
    from referrals.app import create_app as create_referrals
    from referrals.config import Settings as ReferralsSettings

    exporter = InMemorySpanExporter()
    assert configure_tracing("reliability-trace", None, processor=SimpleSpanProcessor(exporter))
    referrals_port, cases_port = free_port(), free_port()
    referrals_url, cases_url = f"http://127.0.0.1:{referrals_port}", f"http://127.0.0.1:{cases_port}"
    nowhere = f"http://127.0.0.1:{free_port()}"
    await add_hubs(fresh_cases_db)
    referrals_app = create_referrals(
        ReferralsSettings(
            **_common(fresh_referrals_db, referrals_port),
            service_name="referrals",
            cases_url=cases_url,
            outcomes_url=nowhere,
            match_retry_interval=0,
            subscribers=[{"name": "cases", "url": f"{cases_url}/v1/events", "event_types": ["referral.accepted"]}],
        )
    )
    cases_app = create_cases(
        CasesSettings(
            **_common(fresh_cases_db, cases_port),
            service_name="cases",
            outcomes_url=nowhere,
            subscribers=[
                {
                    "name": "referrals",
                    "url": f"{referrals_url}/v1/events",
                    "event_types": ["case.opened", "case.joined"],
                }
            ],
        )
    )
    async with (
        serve_asgi(referrals_app, port=referrals_port, lifespan="on"),
        serve_asgi(cases_app, port=cases_port, lifespan="on"),
        httpx.AsyncClient(base_url=referrals_url, timeout=10) as client,
    ):
        tracer = trace.get_tracer("tests.reliability")
        with tracer.start_as_current_span("referral journey") as journey:
            created = await client.post(
                "/v1/referrals/maternity",
                json=maternity_payload(nhs_number(), 1),
                headers={**PARTNER, "Idempotency-Key": "trace-001"},
            )
            assert created.status_code == 201, created.text
            referral_id = created.json()["id"]
            accepted = await client.post(
                f"/v1/referrals/{referral_id}/decision",
                json={"outcome": "accepted", "reason": "meets the criteria"},
                headers=MANAGER,
            )
            assert accepted.status_code == 200, accepted.text
        trace_id = journey.get_span_context().trace_id

        deadline = time.monotonic() + 20
        while True:
            referral = (await client.get(f"/v1/referrals/{referral_id}", headers=MANAGER)).json()
            if referral["case_id"] is not None:
                break
            assert time.monotonic() < deadline, "the case never came back to the referral"
            await asyncio.sleep(0.1)
        # The consumer's server span ends just after its response; give the exporter a moment.
        await asyncio.sleep(0.3)

    spans = [s for s in exporter.get_finished_spans() if s.context is not None and s.context.trace_id == trace_id]
    server = [(s.name, _port_of(s)) for s in spans if s.kind == trace.SpanKind.SERVER]
    producers = [s.name for s in spans if s.kind == trace.SpanKind.PRODUCER]
    journey_steps = [
        ("POST /v1/referrals/maternity", referrals_port),
        ("POST /v1/people/match", cases_port),
        ("POST /v1/referrals/{referral_id}/decision", referrals_port),
        ("POST /v1/events", cases_port),
        ("POST /v1/events", referrals_port),
    ]
    for step in journey_steps:
        assert step in server, f"{step} is not in the trace; server spans: {server}"
    assert "deliver referral.accepted" in producers, producers
    assert "deliver case.opened" in producers, producers

    by_id = {s.context.span_id: s for s in spans if s.context is not None}

    def ancestors(span: ReadableSpan) -> list[str]:
        names: list[str] = []
        parent = span.parent
        while parent is not None and parent.span_id in by_id:
            found = by_id[parent.span_id]
            names.append(found.name)
            parent = found.parent
        return names

    back_home = next(
        s
        for s in spans
        if s.kind == trace.SpanKind.SERVER and _port_of(s) == referrals_port and s.name == "POST /v1/events"
    )
    chain = ancestors(back_home)
    assert "deliver case.opened" in chain and "deliver referral.accepted" in chain, chain
    assert chain.index("deliver case.opened") < chain.index("deliver referral.accepted")
    assert chain[-1] == "referral journey", chain
