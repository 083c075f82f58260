"""The cohort report: one offline HTML file whose charts a headless Chromium finds, from `earlyhelp report cohort`
and from the gateway's `GET /reports/cohort`, over the real processes of an `earlyhelp up` stack."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import Stack
from typer.testing import CliRunner

from earlyhelp.cli import app
from earlyhelp.report import CohortData, build_html
from gateway.reports import CONTENT_SECURITY_POLICY
from tests.support.chromium import dump_dom

CHARTS = (
    "chart-enrolled-by-hub",
    "chart-needs-prevalence",
    "chart-progress-by-need",
    "chart-claims-by-status",
    "chart-decision-times",
    "chart-sla-by-hub",
)


def test_synthetic_data_renders_the_right_figures() -> None:
    data = CohortData(
        cohort={
            "programme_phase": "2022-2025",
            "families_enrolled": 4,
            "families_claimed": 1,
            "claim_rate": 0.25,
            "by_hub": [{"hub": "north", "enrolled": 4, "closed": 2, "claimed": 1, "validated": 1}],
            "by_need": [{"need": "education", "enrolled": 4, "evaluated": 4, "met": 2, "sustained": 1}],
            "by_month": [{"month": "2026-09", "enrolled": 4, "claimed": 1, "validated": 1}],
        },
        claims_by_status={"pending": 0, "validated": 1, "rejected": 2},
        claims_by_hub={"north": {"pending": 0, "validated": 1, "rejected": 2}},
        accepted_by_month_hub={"2026-09": {"north": 3, "south": 1}},
        decisions=[
            {"hub": "north", "outcome": "accepted", "days": 0.5, "on_time": True},
            {"hub": "north", "outcome": "signposted", "days": 6.0, "on_time": False},
        ],
        open_referrals=3,
        open_breached=1,
    )
    page = build_html(data)
    assert "<script" not in page and "<link" not in page and not re.search(r'(src|href)="https?:', page)
    assert ">50.0%</b>Referrals decided on time" in page
    assert "<title>education · met: 50%</title>" in page and "<title>education · sustained: 25%</title>" in page
    assert "<title>2026-09 · north: 3</title>" in page
    assert "<title>5-10 days · late: 1</title>" in page and "<title>&lt; 1 day · on time: 1</title>" in page
    assert "<title>rejected · claims: 2</title>" in page
    assert page.count("<svg") == len(CHARTS)


def test_report_from_the_stack_opens_in_headless_chromium(stack: Stack, tmp_path: Path) -> None:
    tokens = stack.tokens
    page, saved = tmp_path / "report.html", tmp_path / "data.json"
    result = CliRunner().invoke(
        app,
        [
            "report", "cohort", "--html", str(page), "--json", str(saved),
            "--token", tokens["ANALYST_TOKEN"], "--referrals-token", tokens["ADMIN_TOKEN"],
            "--outcomes-url", stack.url("outcomes"), "--referrals-url", stack.url("referrals"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "<script" not in html and "<link" not in html and not re.search(r'(src|href)="https?:', html)
    dom = dump_dom(page)
    assert dom.count("<svg") == len(CHARTS), dom[:2000]
    for chart in CHARTS:
        assert f'id="{chart}"' in dom
    assert dom.count('class="bar"') >= 5, "the demo data should draw bars"
    # Counts only: no name from the demo data reaches the report.
    assert "given_name" not in saved.read_text() and "Demo referral" not in html
    # The saved data renders the same report offline.
    again = tmp_path / "again.html"
    result = CliRunner().invoke(app, ["report", "cohort", "--html", str(again), "--from-json", str(saved)])
    assert result.exit_code == 0, result.output
    assert again.read_text() == html


def test_report_without_a_token_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner(env={"EARLYHELP_TOKEN": None}).invoke(
        app, ["report", "cohort", "--html", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2 and "token" in result.output


# --- the same report through the gateway ----------------------------------------------------------------------


def _get(stack: Stack, token: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{stack.url('gateway')}/reports/cohort", params=params, headers=headers, timeout=60)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def _without_time(data: dict[str, Any]) -> dict[str, Any]:
    """The report's data without the times it (and the outcomes cohort report in it) was generated."""
    cohort = {k: v for k, v in data["cohort"].items() if k != "generated_at"}
    return {k: v for k, v in data.items() if k != "generated_at"} | {"cohort": cohort}


def test_gateway_serves_the_report_as_html_and_json(stack: Stack, tmp_path: Path) -> None:
    tokens = stack.tokens
    response = _get(stack, tokens["ADMIN_TOKEN"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert policy.startswith(CONTENT_SECURITY_POLICY) and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy  # so no script, fetch, image or font
    html = response.text
    assert "<script" not in html and "<link" not in html and not re.search(r'(src|href)="https?:', html)
    # The one <style> element is the one the policy allows by hash (and the page carries the policy itself).
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">' in html
    page = tmp_path / "gateway.html"
    page.write_text(html)
    dom = dump_dom(page)
    assert dom.count("<svg") == len(CHARTS), dom[:2000]
    for chart in CHARTS:
        assert f'id="{chart}"' in dom
    assert dom.count('class="bar"') >= 5, "the demo data should draw bars"
    assert "Demo referral" not in html and "given_name" not in html

    # JSON: asked for by format=json or by Accept; the admin sees referrals too, so no note.
    as_json = _get(stack, tokens["ADMIN_TOKEN"], format="json")
    assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
    assert as_json.headers["cache-control"] == "no-store"
    data = as_json.json()
    assert data["notes"] == [] and data["decisions"] and data["cohort"]["families_enrolled"] > 0
    accepted = httpx.get(
        f"{stack.url('gateway')}/reports/cohort",
        headers={"Authorization": f"Bearer {tokens['ADMIN_TOKEN']}", "Accept": "application/json"},
        timeout=60,
    )
    assert accepted.headers["content-type"].startswith("application/json")
    assert _without_time(accepted.json()) == _without_time(data)

    # The command line and the gateway compute the same report.
    saved = tmp_path / "cli.json"
    result = CliRunner().invoke(
        app,
        [
            "report", "cohort", "--html", str(tmp_path / "cli.html"), "--json", str(saved),
            "--token", tokens["ADMIN_TOKEN"],
            "--outcomes-url", stack.url("outcomes"), "--referrals-url", stack.url("referrals"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _without_time(json.loads(saved.read_text())) == _without_time(data)


def test_gateway_report_is_for_analysts_and_admins(stack: Stack) -> None:
    tokens = stack.tokens
    analyst = _get(stack, tokens["ANALYST_TOKEN"], format="json")
    assert analyst.status_code == 200, analyst.text
    body = analyst.json()
    assert body["cohort"]["families_enrolled"] > 0 and set(body["claims_by_status"]) >= {"pending", "validated"}
    # Issue 22: an analyst gets the referrals service's aggregated triage figures, so the sections are filled.
    assert body["decisions"] and body["notes"] == [], body["notes"]
    assert set(body["decisions"][0]) == {"hub", "outcome", "days", "on_time"}
    for role in ("PARTNER_SYSTEM", "PRACTITIONER", "HUB_MANAGER", "AUDITOR"):
        refused = _problem(_get(stack, tokens[f"{role}_TOKEN"]), 403)
        assert "analyst" in refused["detail"], refused
    unauthenticated = _get(stack)
    _problem(unauthenticated, 401)
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    _problem(_get(stack, "not.a.token"), 401)
    bad = _problem(_get(stack, tokens["ANALYST_TOKEN"], format="pdf"), 422)
    assert bad["errors"][0]["pointer"].endswith("format")


def test_gateway_report_with_outcomes_hung_is_503(stack: Stack) -> None:
    """The outcomes process stopped (SIGSTOP): connections are accepted but never answered, so the gateway's
    upstream timeout (5 s, one retry for a read) ends in a 503 problem, not a hang and not a 500."""
    outcomes = stack.child("outcomes")
    os.kill(outcomes.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = _get(stack, stack.tokens["ANALYST_TOKEN"])
        elapsed = time.monotonic() - started
    finally:
        os.kill(outcomes.pid, signal.SIGCONT)
    body = _problem(response, 503)
    assert body["service"] == "outcomes" and response.headers["cache-control"] == "no-store"
    assert elapsed < 30, elapsed
    assert _get(stack, stack.tokens["ANALYST_TOKEN"], format="json").status_code == 200  # and it recovers
