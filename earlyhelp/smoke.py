"""`earlyhelp smoke`: a non-destructive smoke and contract suite a staging pipeline points at any deployment.

    earlyhelp smoke --gateway https://gw.staging.example --token "$PARTNER_TOKEN" \\
        --referrals-url https://referrals.staging.example --junit smoke.xml

Checks, each a JUnit test case:
- health: the gateway's `/healthz` and `/readyz`, the GraphQL `health` query (every service behind the gateway),
  and `/healthz` + `/readyz` of every service whose URL is given;
- contract: the deployed GraphQL schema (introspection, or — where introspection is off, as in production — a
  validation-only probe of every root field) against `gateway/gateway/schema.graphql` of this version, and each
  deployed `/openapi.json` against the OpenAPI document this version's app produces: removed paths and
  operations are breaking, and a document that `openapi-spec-validator` rejects fails the check;
- round trip: a school referral marked as test data (`external_reference` `SMOKE-…`, reason says so) is created
  with an `Idempotency-Key`, replayed, read back through the gateway, then withdrawn — the cleanup runs even when
  a step fails;
- webhook: when the deployment can reach a temporary receiver started here, a partner webhook is registered and
  the signed `referral.status_changed` of the withdrawal must arrive and verify (Standard Webhooks); the webhook
  is removed afterwards.

The token must be a `partner_system` token of a test agency (it creates and withdraws its own referral and
manages its own webhooks). Exit code 0 when every check passed or was skipped, 1 when any failed.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from earlyhelp.contract_checks import (
    graphql_breaking,
    local_openapi,
    local_sdl,
    openapi_invalid,
    probe_document,
    removed_operations,
)

SMOKE_PREFIX = "SMOKE-"
console = Console(highlight=False, soft_wrap=True)


class CheckFailed(Exception):
    """A check's expectation did not hold; the message says what was expected and what came back."""


class CheckSkipped(Exception):
    """A check that cannot run against this deployment (say why)."""


@dataclass
class CaseResult:
    classname: str
    name: str
    status: str  # passed, failed, skipped
    seconds: float
    message: str = ""


@dataclass
class SmokeReport:
    target: str
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if c.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def junit_xml(self) -> str:
        suites = ET.Element("testsuites", name="earlyhelp smoke")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"earlyhelp smoke {self.target}",
            tests=str(len(self.cases)),
            failures=str(len(self.failed)),
            errors="0",
            skipped=str(sum(c.status == "skipped" for c in self.cases)),
            time=f"{sum(c.seconds for c in self.cases):.3f}",
            timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        for c in self.cases:
            case = ET.SubElement(suite, "testcase", classname=c.classname, name=c.name, time=f"{c.seconds:.3f}")
            if c.status == "failed":
                failure = ET.SubElement(case, "failure", message=c.message.splitlines()[0][:500] if c.message else "")
                failure.text = c.message
            elif c.status == "skipped":
                ET.SubElement(case, "skipped", message=c.message)
        ET.indent(suites)
        return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


@dataclass(frozen=True)
class Target:
    gateway: str
    token: str
    services: dict[str, str]  # name -> base URL, only those given
    timeout: float = 10.0
    webhook_listen: str = "127.0.0.1"
    webhook_public_url: str | None = None
    webhook_timeout: float = 30.0


# --- the temporary webhook receiver -------------------------------------------------------------------------


class Receiver:
    """A tiny HTTP server in a thread that queues every POST it gets (body and headers)."""

    def __init__(self, host: str) -> None:
        received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.put((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="smoke-webhook", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/smoke-webhook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the suite ----------------------------------------------------------------------------------------------


class Smoke:
    def __init__(self, target: Target, http: httpx.Client, echo: Callable[[str], None]) -> None:
        self.t = target
        self.http = http
        self.echo = echo
        self.report = SmokeReport(target=target.gateway)
        self.auth = {"Authorization": f"Bearer {target.token}"}

    @contextlib.contextmanager
    def case(self, classname: str, name: str) -> Iterator[None]:
        started = time.monotonic()
        status, message = "passed", ""
        try:
            yield
        except CheckSkipped as exc:
            status, message = "skipped", str(exc)
        except CheckFailed as exc:
            status, message = "failed", str(exc)
        except httpx.HTTPError as exc:
            where = getattr(getattr(exc, "request", None), "url", "")
            status, message = "failed", f"{type(exc).__name__} calling {where}: {exc or 'no answer'}"
        result = CaseResult(classname, name, status, time.monotonic() - started, message)
        self.report.cases.append(result)
        mark = {"passed": "[green]✔[/]", "failed": "[red]✘[/]", "skipped": "[yellow]-[/]"}[status]
        self.echo(f"{mark} {classname} · {name}" + (f": {message}" if message else ""))

    def expect(self, response: httpx.Response, *codes: int) -> httpx.Response:
        if response.status_code not in codes:
            raise CheckFailed(
                f"{response.request.method} {response.request.url} answered {response.status_code}, expected "
                f"{' or '.join(map(str, codes))}: {response.text[:400]}"
            )
        return response

    def graphql(self, query: str, variables: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        r = self.expect(
            self.http.post(
                f"{self.t.gateway}/graphql",
                json={"query": query, "variables": variables or {}, **extra},
                headers=self.auth,
            ),
            200,
        )
        body: dict[str, Any] = r.json()
        return body

    # health

    def check_health(self) -> None:
        with self.case("health", "gateway"):
            self.expect(self.http.get(f"{self.t.gateway}/healthz"), 200)
            self.expect(self.http.get(f"{self.t.gateway}/readyz"), 200)
        with self.case("health", "services through the gateway"):
            body = self.graphql("{ health { service ready detail } }")
            if body.get("errors"):
                raise CheckFailed(f"health query errors: {body['errors']}")
            down = [f"{h['service'].lower()} ({h.get('detail') or 'not ready'})" for h in body["data"]["health"]]
            down = [d for d, h in zip(down, body["data"]["health"], strict=True) if not h["ready"]]
            if down:
                raise CheckFailed("not ready behind the gateway: " + "; ".join(down))
        for name, url in self.t.services.items():
            with self.case("health", name):
                self.expect(self.http.get(f"{url}/healthz"), 200)
                self.expect(self.http.get(f"{url}/readyz"), 200)

    # contracts

    def check_contracts(self) -> None:
        with self.case("contract", "graphql schema"):
            from graphql import get_introspection_query

            body = self.graphql(get_introspection_query(descriptions=False, input_value_deprecation=True))
            if body.get("data") and not body.get("errors"):
                breaking = graphql_breaking(local_sdl(), body["data"])
                if breaking:
                    raise CheckFailed("breaking changes in the deployed GraphQL schema:\n" + "\n".join(breaking))
            else:  # introspection is off (production): validate every root field without executing it
                probe = self.graphql(probe_document(local_sdl()), operationName="SmokeProbeRun")
                if probe.get("errors"):
                    messages = "\n".join(e.get("message", str(e)) for e in probe["errors"])
                    raise CheckFailed(f"the deployed GraphQL schema rejects fields of this version:\n{messages}")
        for name, url in {"gateway": self.t.gateway, **self.t.services}.items():
            with self.case("contract", f"openapi {name}"):
                deployed = self.expect(self.http.get(f"{url}/openapi.json"), 200).json()
                invalid = openapi_invalid(deployed)
                if invalid:
                    raise CheckFailed(f"the deployed {name} OpenAPI document is invalid: {invalid}")
                removed = removed_operations(local_openapi(name), deployed)
                if removed:
                    raise CheckFailed(f"the deployed {name} API lacks what this version serves:\n" + "\n".join(removed))

    # round trip and webhook

    def school_referral(self, reference: str) -> dict[str, Any]:
        recorded = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
        return {
            "external_reference": reference,
            "referrer": {"name": "Smoke test", "role": "Automated staging check"},
            "needs": [],
            "reason": "SMOKE TEST: synthetic record created by `earlyhelp smoke`; withdrawn automatically.",
            "consent": {"given": True, "given_by": "Smoke test", "recorded_at": recorded, "method": "written"},
            "school_urn": "107950",
            "pupil": {
                "given_name": "Smoke",
                "family_name": "Test",
                "date_of_birth": "2015-04-02",
                "upn": "H801200001001",
                "year_group": 6,
                "postcode": "LS1 4AB",
            },
            "attendance": {"current_term_percent": 95.0},
        }

    def create_referral(self, reference: str) -> str:
        body = self.school_referral(reference)
        referrals = self.t.services.get("referrals")
        if referrals:
            key = str(uuid.uuid4())
            headers = {**self.auth, "Idempotency-Key": key}
            first = self.expect(self.http.post(f"{referrals}/v1/referrals/school", json=body, headers=headers), 201)
            replay = self.expect(self.http.post(f"{referrals}/v1/referrals/school", json=body, headers=headers), 201)
            if replay.headers.get("idempotent-replayed") != "true" or replay.json()["id"] != first.json()["id"]:
                raise CheckFailed("a retry with the same Idempotency-Key did not replay the first response")
            return str(first.json()["id"])
        result = self.graphql(
            """mutation Smoke($input: SchoolReferralInput!, $key: String!) {
                 submitSchoolReferral(input: $input, idempotencyKey: $key) {
                   referral { id } userErrors { message } } }""",
            {"input": _camel(body), "key": str(uuid.uuid4())},
        )
        payload = (result.get("data") or {}).get("submitSchoolReferral") or {}
        if result.get("errors") or payload.get("userErrors") or not payload.get("referral"):
            raise CheckFailed(f"submitSchoolReferral failed: {result}")
        return str(payload["referral"]["id"])

    def withdraw(self, referral_id: str) -> None:
        referrals = self.t.services.get("referrals")
        reason = "SMOKE TEST cleanup"
        if referrals:
            r = self.http.post(
                f"{referrals}/v1/referrals/{referral_id}/withdraw", json={"reason": reason}, headers=self.auth
            )
            self.expect(r, 200)
            if r.json()["status"] != "withdrawn":
                raise CheckFailed(f"withdrawal left the referral {r.json()['status']}")
            return
        result = self.graphql(
            "mutation W($id: ID!, $r: String!) { withdrawReferral(id: $id, reason: $r) { referral { status } "
            "userErrors { message } } }",
            {"id": referral_id, "r": reason},
        )
        payload = (result.get("data") or {}).get("withdrawReferral") or {}
        if result.get("errors") or payload.get("userErrors"):
            raise CheckFailed(f"withdrawReferral failed: {result}")

    def start_webhook(self, stack: contextlib.ExitStack) -> tuple[Receiver, dict[str, Any]] | None:
        result: tuple[Receiver, dict[str, Any]] | None = None
        with self.case("webhook", "register a temporary receiver"):
            referrals = self.t.services.get("referrals")
            if not referrals:
                raise CheckSkipped("needs --referrals-url (webhooks are managed on the referrals API)")
            receiver = stack.enter_context(Receiver(self.t.webhook_listen))
            url = self.t.webhook_public_url or receiver.url
            r = self.http.post(
                f"{referrals}/v1/webhooks", json={"url": url, "description": "SMOKE TEST receiver"}, headers=self.auth
            )
            if r.status_code == 422:
                raise CheckSkipped(
                    f"the deployment will not deliver to {url} ({r.json().get('detail')}); pass --webhook-public-url "
                    "with an address it can reach"
                )
            webhook: dict[str, Any] = self.expect(r, 201).json()
            stack.callback(lambda: self.http.delete(f"{referrals}/v1/webhooks/{webhook['id']}", headers=self.auth))
            result = (receiver, webhook)
        return result

    def wait_for_delivery(self, receiver: Receiver, webhook: dict[str, Any], referral_id: str) -> None:
        from standardwebhooks.webhooks import Webhook

        with self.case("webhook", "signed status change delivered"):
            deadline = time.monotonic() + self.t.webhook_timeout
            seen = []
            while time.monotonic() < deadline:
                try:
                    body, headers = receiver.received.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    break
                try:
                    Webhook(webhook["secret"]).verify(body, headers)
                except Exception as exc:  # the library raises its own WebhookVerificationError
                    raise CheckFailed(f"a delivery failed signature verification: {exc}") from exc
                event = json.loads(body)
                seen.append(f"{event.get('type')} {event.get('data', {}).get('status')}")
                data = event.get("data", {})
                if data.get("referral_id") == referral_id and data.get("status") == "withdrawn":
                    return
            raise CheckFailed(
                f"no signed referral.status_changed (withdrawn) for {referral_id} within {self.t.webhook_timeout:.0f}s"
                + (f"; received: {', '.join(seen)}" if seen else "; nothing received")
            )

    def check_round_trip(self) -> None:
        with contextlib.ExitStack() as stack:
            hook = self.start_webhook(stack)
            referral_id: str | None = None
            withdrawn = False
            try:
                with self.case("round trip", "create a test referral (idempotent)"):
                    referral_id = self.create_referral(f"{SMOKE_PREFIX}{uuid.uuid4().hex[:16]}")
                if referral_id is None:
                    return
                with self.case("round trip", "read it back through the gateway"):
                    body = self.graphql(
                        "query R($id: ID!) { referral(id: $id) { id status externalReference } }", {"id": referral_id}
                    )
                    found = (body.get("data") or {}).get("referral")
                    if not found or not str(found["externalReference"]).startswith(SMOKE_PREFIX):
                        raise CheckFailed(f"the gateway did not return the referral: {body}")
                with self.case("round trip", "withdraw it (cleanup)"):
                    self.withdraw(referral_id)
                    withdrawn = True
                if hook is not None:
                    self.wait_for_delivery(*hook, referral_id)
            finally:
                if referral_id is not None and not withdrawn:
                    with contextlib.suppress(CheckFailed, httpx.HTTPError):
                        self.withdraw(referral_id)

    def run(self) -> SmokeReport:
        self.check_health()
        self.check_contracts()
        self.check_round_trip()
        return self.report


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            head, *rest = k.split("_")
            out[head + "".join(w.title() for w in rest)] = _camel(v)
        return out
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if value == "written":
        return "WRITTEN"
    return value


def run_smoke(target: Target, echo: Callable[[str], None] = console.print) -> SmokeReport:
    with httpx.Client(timeout=target.timeout) as http:
        return Smoke(target, http, echo).run()


def smoke_command(
    gateway: Annotated[str, typer.Option(help="Base URL of the deployed gateway")],
    token: Annotated[str, typer.Option(envvar="EARLYHELP_SMOKE_TOKEN", help="partner_system token of a test agency")],
    referrals_url: Annotated[str | None, typer.Option(help="Base URL of the referrals service")] = None,
    cases_url: Annotated[str | None, typer.Option(help="Base URL of the cases service")] = None,
    outcomes_url: Annotated[str | None, typer.Option(help="Base URL of the outcomes service")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP call")] = 10.0,
    webhook_listen: Annotated[str, typer.Option(help="Address the temporary webhook receiver binds to")] = "127.0.0.1",
    webhook_public_url: Annotated[
        str | None, typer.Option(help="URL at which the deployment reaches the receiver (default: its own address)")
    ] = None,
    webhook_timeout: Annotated[float, typer.Option(help="Seconds to wait for the webhook delivery")] = 30.0,
) -> None:
    """Smoke and contract suite against a deployment: health, schema compatibility, a referral round trip
    (test data, cleaned up), webhook delivery. Exit code 1 on any failure; --junit for CI."""
    services = {
        name: url.rstrip("/")
        for name, url in (("referrals", referrals_url), ("cases", cases_url), ("outcomes", outcomes_url))
        if url
    }
    target = Target(
        gateway=gateway.rstrip("/"),
        token=token,
        services=services,
        timeout=timeout,
        webhook_listen=webhook_listen,
        webhook_public_url=webhook_public_url,
        webhook_timeout=webhook_timeout,
    )
    report = run_smoke(target)
    if junit is not None:
        junit.write_text(report.junit_xml())
    passed = sum(c.status == "passed" for c in report.cases)
    skipped = sum(c.status == "skipped" for c in report.cases)
    if report.ok:
        console.print(f"[bold green]smoke passed[/]: {passed} passed, {skipped} skipped")
    else:
        console.print(
            f"[bold red]smoke FAILED[/]: {len(report.failed)} failed ("
            + ", ".join(f"{c.classname} · {c.name}" for c in report.failed)
            + f"), {passed} passed, {skipped} skipped"
        )
    raise typer.Exit(0 if report.ok else 1)
