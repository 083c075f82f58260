"""`/metrics` of every service and of the gateway, after traffic: labelled by route template, clean for
`promtool check metrics`, the gateway without outbox metrics, and every metric the Grafana dashboard queries
served by the process it charts."""

from __future__ import annotations

import json
import re
import subprocess
import uuid

import httpx
import pytest

from tests.conformance.tools import REPO, tool
from tests.e2e.stack import Stack
from tests.support.tokens import make_token

pytestmark = pytest.mark.e2e

SERVICES = ("referrals", "cases", "outcomes", "intelligence")
DASHBOARD = REPO / "deploy" / "grafana" / "earlyhelp-dashboard.json"
SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ", re.MULTILINE)
PROMTOOL_INSTALL = "`make test` unpacks it from Debian's prometheus package (Makefile: PROMTOOL)"

TRAFFIC = {
    # a templated path with an id that does not exist (404, or 403 for a role that may not read it), a list, health
    "referrals": [f"/v1/referrals/{uuid.uuid4()}", "/v1/referrals?limit=5", "/healthz"],
    "cases": [f"/v1/families/{uuid.uuid4()}", "/v1/cases?limit=5", "/healthz"],
    "outcomes": [f"/v1/claims/{uuid.uuid4()}", "/v1/frameworks", "/healthz"],
    "intelligence": [f"/v1/identified-families/{uuid.uuid4()}", "/v1/identified-families?first=5", "/healthz"],
}
TEMPLATES = {
    "referrals": "/v1/referrals/{referral_id}",
    "cases": "/v1/families/{family_id}",
    "outcomes": "/v1/claims/{claim_id}",
    "intelligence": "/v1/identified-families/{family_id}",
}


@pytest.fixture(scope="module")
async def scraped(live: Stack) -> dict[str, str]:
    """Each process's `/metrics` after some traffic of every kind it serves."""
    admin = {"Authorization": f"Bearer {make_token('admin', sub='conformance-admin')}"}
    async with httpx.AsyncClient(timeout=30) as http:
        for service in SERVICES:
            for path in TRAFFIC[service]:
                r = await http.get(live.urls[service] + path, headers=admin)
                assert r.status_code < 500, (service, path, r.status_code, r.text[:300])
            assert (await http.get(live.urls[service] + "/no/such/path")).status_code == 404
        query = {"query": "{ health { service ready } }"}
        r = await http.post(live.urls["gateway"] + "/graphql", json=query, headers=admin)
        assert r.status_code == 200 and not r.json().get("errors"), r.text[:500]
        assert (await http.get(live.urls["gateway"] + "/healthz")).status_code == 200
        return {name: (await http.get(url + "/metrics")).text for name, url in live.urls.items()}


def names(text: str) -> set[str]:
    """Every series name a `/metrics` text serves or declares (a labelled family may have no series yet)."""
    found = {m.group(1) for m in SERIES.finditer(text)}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(kind, ("",))
        found |= {name.removesuffix("_total") + suffix for suffix in suffixes}
    return found


def routes(text: str, method: str = "") -> set[str]:
    return set(re.findall(rf'http_requests_total\{{method="{method or "[A-Z]+"}",route="([^"]*)"', text))


@pytest.mark.parametrize("service", SERVICES)
def test_service_requests_are_labelled_by_route_template(scraped: dict[str, str], service: str) -> None:
    labels = routes(scraped[service], "GET")
    assert {TEMPLATES[service], "/healthz", TRAFFIC[service][1].split("?")[0]} <= labels, labels
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", label) for label in labels), "a raw id became a label"
    # only the request no route matches is "unmatched"
    unmatched = re.findall(r'http_requests_total\{method="GET",route="unmatched",status="(\d+)"\}', scraped[service])
    assert unmatched == ["404"], unmatched


def test_gateway_requests_are_labelled_and_it_has_no_outbox(scraped: dict[str, str]) -> None:
    text = scraped["gateway"]
    assert routes(text, "POST") == {"/graphql"}
    assert "/healthz" in routes(text, "GET")
    served = names(text)
    assert not {n for n in served if n.startswith(("outbox_", "db_pool_"))}, "the gateway has no outbox nor pool"
    assert "gateway_upstream_requests_total" in served
    for service in SERVICES:
        assert re.search(r"^outbox_backlog ", scraped[service], re.MULTILINE), service


@pytest.mark.parametrize("part", [*SERVICES, "gateway"])
def test_promtool_check_metrics_is_clean(scraped: dict[str, str], part: str) -> None:
    promtool = tool("promtool", installed_by=PROMTOOL_INSTALL)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=scraped[part], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        f"promtool check metrics on {part}'s /metrics (exit {result.returncode}):\n{result.stdout}{result.stderr}"
    )


def test_every_dashboard_query_reads_a_served_metric(scraped: dict[str, str]) -> None:
    """Each metric a panel selects is in the live `/metrics` of a process the panel charts (the gateway's panels
    its `gateway_*` metrics and the `/graphql` route, the services' panels theirs), with any label it filters on."""
    served = {part: names(text) for part, text in scraped.items()}
    dashboard = json.loads(DASHBOARD.read_text())
    checked = 0
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, selector in re.findall(r"([a-z_:]+)(?=[{\[])(\{[^}]*\})?", expr):
                parts = ["gateway"] if name.startswith("gateway_") or "/graphql" in selector else list(SERVICES)
                assert all(name in served[p] for p in parts), f"{name} ({expr!r}) is not served by {parts}"
                for label, value in re.findall(r'(\w+)="([^"]*)"', selector):
                    assert f'{label}="{value}"' in scraped[parts[0]], f"{expr!r}: no series with {label}={value!r}"
                checked += 1
    assert checked >= 15, checked
