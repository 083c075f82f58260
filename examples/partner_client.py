"""A complete partner client for the Early Help Platform's referrals API — copy it and adapt it.

What it shows:
- submitting a referral with an `Idempotency-Key` that stays the same across retries, so a timeout or a 503
  never creates the referral twice;
- retrying what is worth retrying (connection errors, 429 with `Retry-After`, 502/503/504) with exponential
  backoff and jitter, and never retrying what is not (a 422 names the fields to fix; a 409 names the referral
  that already has this `external_reference`);
- reading problem+json errors;
- a webhook receiver that verifies Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`,
  `webhook-signature`) before trusting a status callback, and ignores redeliveries it has already seen.

Usage (tokens from `earlyhelp dev-token --role partner_system --agency SCH-100001 --agency-type school`):

    python examples/partner_client.py submit examples/school-referral.json --reference MIS-2026-000124
    python examples/partner_client.py status REFERRAL_ID
    python examples/partner_client.py receive --port 9000 --secret whsec_...   # run the webhook receiver
    python examples/partner_client.py demo     # register a receiver, submit, withdraw, wait for the callback

The base URL and token come from `--base-url`/`--token` or `EARLYHELP_REFERRALS_URL`/`PARTNER_SYSTEM_TOKEN`.
Needs only `httpx` and `standardwebhooks` (`pip install httpx standardwebhooks`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

RETRY_STATUSES = {429, 502, 503, 504}


class ReferralRejected(Exception):
    """The platform refused the request; `problem` is its problem+json body (never worth retrying as is)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        fields = "; ".join(f"{e.get('pointer')}: {e.get('detail')}" for e in problem.get("errors", []))
        super().__init__(f"HTTP {status} {problem.get('title')}: {problem.get('detail') or ''} {fields}".strip())


class PartnerClient:
    """The referrals API as a partner system sees it."""

    def __init__(self, base_url: str, token: str, *, max_attempts: int = 6, timeout: float = 10.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "partner-client-example/1.0"},
            timeout=timeout,
        )
        self.max_attempts = max_attempts

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries. The caller keeps the same Idempotency-Key for every attempt of one create."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:  # connection refused or reset, timeout: the request may or may not have landed
                if attempt == self.max_attempts:
                    raise
                time.sleep(self._backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.max_attempts:
                retry_after = response.headers.get("Retry-After")
                delay = float(retry_after) if retry_after and retry_after.isdigit() else self._backoff(attempt)
                time.sleep(delay)
                continue
            if response.status_code >= 400:
                try:
                    problem = response.json()
                except ValueError:
                    problem = {"title": response.reason_phrase, "detail": response.text[:200]}
                raise ReferralRejected(response.status_code, problem)
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Exponential backoff with full jitter: up to 0.5 s, 1 s, 2 s, ... capped at 30 s."""
        return random.uniform(0, min(30.0, 0.5 * 2 ** (attempt - 1)))

    def submit(self, kind: str, referral: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Create a `school` or `maternity` referral. Store the key with your record before the first attempt
        so that a retry after a crash reuses it."""
        key = idempotency_key or str(uuid.uuid4())
        response = self._send("POST", f"/v1/referrals/{kind}", json=referral, headers={"Idempotency-Key": key})
        body: dict[str, Any] = response.json()
        body["_replayed"] = response.headers.get("Idempotent-Replayed") == "true"
        return body

    def get(self, referral_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._send("GET", f"/v1/referrals/{referral_id}").json()
        return result

    def withdraw(self, referral_id: str, reason: str) -> dict[str, Any]:
        result: dict[str, Any] = self._send(
            "POST", f"/v1/referrals/{referral_id}/withdraw", json={"reason": reason}
        ).json()
        return result

    def register_webhook(self, url: str, description: str | None = None) -> dict[str, Any]:
        """Returns the webhook with its signing `secret` — shown only once: keep it in your secret store."""
        body = {"url": url, "description": description}
        result: dict[str, Any] = self._send("POST", "/v1/webhooks", json=body).json()
        return result

    def delete_webhook(self, webhook_id: str) -> None:
        self._send("DELETE", f"/v1/webhooks/{webhook_id}")


# --- the webhook receiver -----------------------------------------------------------------------------------


def make_receiver(
    secret: str | Callable[[], str],
    on_event: Callable[[dict[str, Any]], None],
    host: str = "127.0.0.1",
    port: int = 0,
) -> ThreadingHTTPServer:
    """An HTTP server that verifies every delivery and hands each new event to `on_event`.

    Answer 2xx quickly (the platform retries anything else with backoff); a redelivery carries the same
    `webhook-id`, so remember the ids you processed and acknowledge repeats without acting on them again.
    """
    secret_of = secret if callable(secret) else (lambda: secret)
    seen: set[str] = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                Webhook(secret_of()).verify(body, headers)  # checks the HMAC and that the timestamp is within 5 minutes
            except WebhookVerificationError:
                self.send_response(401)
                self.end_headers()
                return
            with lock:
                new = headers["webhook-id"] not in seen
                seen.add(headers["webhook-id"])
            self.send_response(204)
            self.end_headers()
            if new:
                on_event(json.loads(body))

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer((host, port), Handler)


# --- commands -----------------------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> PartnerClient:
    token = args.token or os.environ.get("PARTNER_SYSTEM_TOKEN")
    if not token:
        sys.exit("a token is needed: --token or PARTNER_SYSTEM_TOKEN")
    return PartnerClient(args.base_url, token)


def _load(path: Path, reference: str | None) -> dict[str, Any]:
    referral: dict[str, Any] = json.loads(path.read_text())
    if reference:
        referral["external_reference"] = reference
    return referral


def cmd_submit(args: argparse.Namespace) -> int:
    client = _client(args)
    try:
        result = client.submit(args.kind, _load(args.file, args.reference), args.idempotency_key)
    except ReferralRejected as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    replay = " (replayed: this key was used before)" if result["_replayed"] else ""
    print(f"referral {result['id']} {result['status']}, hub {result['hub']}, due {result['decision_due_at']}{replay}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    client = _client(args)
    try:
        r = client.get(args.referral_id)
    finally:
        client.close()
    decision = r["decision"]
    print(f"{r['id']} {r['status']}" + (f" — {decision['decision']}: {decision['reason']}" if decision else ""))
    return 0


def cmd_receive(args: argparse.Namespace) -> int:
    def show(event: dict[str, Any]) -> None:
        data = event["data"]
        print(f"{event['type']}: {data['external_reference']} {data['previous_status']} -> {data['status']}")

    server = make_receiver(args.secret, show, args.host, args.port)
    print(f"listening on http://{args.host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Everything at once against a development stack: receiver, webhook, referral, withdrawal, callback."""
    client = _client(args)
    events: list[dict[str, Any]] = []
    arrived = threading.Event()
    referral_id: str | None = None

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event["data"].get("referral_id") == referral_id and event["data"]["status"] == "withdrawn":
            arrived.set()

    webhook: dict[str, Any] = {}
    # Listen first (to know the URL), register, then verify with the secret the registration returned.
    server = make_receiver(lambda: str(webhook["secret"]), on_event)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook.update(client.register_webhook(f"http://127.0.0.1:{server.server_address[1]}/callbacks", "demo"))
    try:
        referral = _load(args.file, f"DEMO-{uuid.uuid4().hex[:12]}")
        key = str(uuid.uuid4())
        first = client.submit("school", referral, key)
        again = client.submit("school", referral, key)  # a retry with the same key: no duplicate
        if again["id"] != first["id"] or not again["_replayed"]:
            print("the retry with the same key should have replayed the first answer", file=sys.stderr)
            return 1
        referral_id = first["id"]
        print(f"submitted {first['external_reference']} as {referral_id} (a retry replayed it: {again['_replayed']})")
        client.withdraw(referral_id, "Example client demo")
        if not arrived.wait(args.wait):
            print(f"no callback within {args.wait}s; deliveries: GET /v1/webhooks/{webhook['id']}/deliveries")
            return 1
        print(f"signed callback verified: {referral_id} received -> withdrawn")
        return 0
    finally:
        client.delete_webhook(webhook["id"])
        client.close()
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=os.environ.get("EARLYHELP_REFERRALS_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--token", help="bearer token (default: $PARTNER_SYSTEM_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("submit", help="submit a referral from a JSON file")
    p.add_argument("file", type=Path)
    p.add_argument("--kind", choices=["school", "maternity"], default="school")
    p.add_argument("--reference", help="override external_reference (your own id for the referral)")
    p.add_argument("--idempotency-key", help="reuse a key to retry safely (default: a new UUID)")
    p.set_defaults(run=cmd_submit)
    p = sub.add_parser("status", help="show a referral's status and decision")
    p.add_argument("referral_id")
    p.set_defaults(run=cmd_status)
    p = sub.add_parser("receive", help="run a webhook receiver that verifies signatures")
    p.add_argument("--secret", required=True, help="the whsec_… secret returned when the webhook was registered")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.set_defaults(run=cmd_receive)
    p = sub.add_parser("demo", help="register a receiver, submit, withdraw and wait for the signed callback")
    p.add_argument("--file", type=Path, default=Path(__file__).with_name("school-referral.json"))
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the callback")
    p.set_defaults(run=cmd_demo)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
