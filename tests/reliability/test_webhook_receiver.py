"""A partner's webhook receiver that is down, then slow, then up: every status change arrives, signed, in order
per referral, at least once, and the delivery log shows each attempt.

The receiver runs in the test (uvicorn on a loopback port). While it is down the relay gets connection
errors; while it is slow it answers after the relay's delivery timeout (1 s here), so the relay records a
timeout although the receiver did get the message — the case that makes delivery at-least-once.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.reliability.harness import (
    MANAGER,
    PARTNER,
    Stack,
    database_map,
    maternity_payload,
    nhs_number,
    running_stack,
    wait_until,
)
from tests.support import free_port, serve_asgi
from tests.support.triage import confirm_new_people

pytestmark = pytest.mark.e2e
REFERRALS = 8
DOWN_SECONDS = 3.0
SLOW_SECONDS = 3.0
SLOW_ANSWER_SECONDS = 1.5
FIGURES: dict[str, Any] = {}


class Receiver:
    """Records every delivery with its headers; answers late while `slow`."""

    def __init__(self) -> None:
        self.slow = False
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        if self.slow:
            await asyncio.sleep(SLOW_ANSWER_SECONDS)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def test_webhook_receiver_down_then_slow_then_up(
    fresh_referrals_db: str, fresh_cases_db: str, tmp_path: Path
) -> None:
    stack = Stack(
        databases=database_map(fresh_referrals_db, fresh_cases_db),
        log_dir=tmp_path,
        extra_env={"referrals": {"REFERRALS_OUTBOX_DELIVERY_TIMEOUT": "1"}},
    )
    port = free_port()
    receiver = Receiver()
    async with running_stack(stack), httpx.AsyncClient(base_url=stack.url("referrals"), timeout=15) as client:
        created = await client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook"}, headers=PARTNER)
        assert created.status_code == 201, created.text
        webhook = created.json()

        started = time.monotonic()
        referral_ids: list[str] = []
        for i in range(REFERRALS):
            response = await client.post(
                "/v1/referrals/maternity",
                json=maternity_payload(nhs_number(), i),
                headers={**PARTNER, "Idempotency-Key": f"hook-{i}-{webhook['id']}"},
            )
            assert response.status_code == 201, response.text
            referral_id = response.json()["id"]
            referral_ids.append(referral_id)
            screening = await client.post(f"/v1/referrals/{referral_id}/screening", json={}, headers=MANAGER)
            assert screening.status_code == 200, screening.text
            outcome = "accepted" if i % 2 == 0 else "signposted"
            await confirm_new_people(client, referral_id, MANAGER)
            decided = await client.post(
                f"/v1/referrals/{referral_id}/decision", json={"outcome": outcome, "reason": "triage"}, headers=MANAGER
            )
            assert decided.status_code == 200, decided.text
        await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - started)))

        async with serve_asgi(receiver, port=port):
            receiver.slow = True
            await asyncio.sleep(SLOW_SECONDS)
            receiver.slow = False

            async def all_delivered() -> bool:
                page = await client.get(f"/v1/webhooks/{webhook['id']}/deliveries?limit=100", headers=PARTNER)
                items = page.json()["items"]
                return len(items) == 2 * REFERRALS and all(d["status"] == "delivered" for d in items)

            await wait_until(all_delivered, timeout=90, what="every status change delivered")
        log = (await client.get(f"/v1/webhooks/{webhook['id']}/deliveries?limit=100", headers=PARTNER)).json()["items"]

    # Signed: every message verifies against the secret the partner was given.
    verifier = Webhook(webhook["secret"])
    messages: list[dict[str, Any]] = []
    for headers, body in receiver.received:
        messages.append(verifier.verify(body, headers))
    # At least once: every status change of every referral arrived.
    by_referral: dict[str, list[str]] = defaultdict(list)
    ids_seen: dict[str, int] = defaultdict(int)
    for message in messages:
        assert message["type"] == "referral.status_changed"
        ids_seen[message["id"]] += 1
        by_referral[message["data"]["referral_id"]].append(message["data"]["status"])
    assert set(by_referral) == set(referral_ids)
    for i, referral_id in enumerate(referral_ids):
        final = "accepted" if i % 2 == 0 else "signposted"
        statuses = by_referral[referral_id]
        assert set(statuses) == {"screening", final}, statuses
        # In order: no decision arrives before the screening it follows (redeliveries may repeat one).
        assert statuses.index(final) > max(j for j, s in enumerate(statuses) if s == "screening"), statuses
    # The delivery log shows each attempt: the connection errors, the timeouts and the success.
    assert len(log) == 2 * REFERRALS
    for delivery in log:
        attempts = delivery["attempt_log"]
        assert len(attempts) == delivery["attempts"] >= 1
        assert 200 <= attempts[-1]["status_code"] < 300
        assert all(a["status_code"] is None and a["error"] for a in attempts[:-1]), attempts
    errors = [a["error"] for d in log for a in d["attempt_log"] if a["error"]]
    assert any("Connect" in e for e in errors), "no attempt met the receiver down"
    assert any("Timeout" in e for e in errors), "no attempt met the receiver slow"
    duplicates = sum(n - 1 for n in ids_seen.values())
    assert len(ids_seen) == 2 * REFERRALS
    FIGURES["webhook receiver"] = {
        "status_changes": 2 * REFERRALS,
        "messages_received": len(messages),
        "duplicates_received": duplicates,
        "attempts_logged": sum(d["attempts"] for d in log),
        "connection_errors": sum("Connect" in e for e in errors),
        "timeouts": sum("Timeout" in e for e in errors),
    }
    print(FIGURES)
