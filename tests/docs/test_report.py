"""`earlyhelp report cohort`: one offline HTML file whose charts a headless Chromium finds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import Stack
from typer.testing import CliRunner

from earlyhelp.cli import app
from earlyhelp.report import CohortData, build_html

CHROMIUM = Path("/usr/bin/chromium")
CHARTS = (
    "chart-enrolled-by-hub",
    "chart-needs-prevalence",
    "chart-progress-by-need",
    "chart-claims-by-status",
    "chart-decision-times",
    "chart-sla-by-hub",
)


def _dump_dom(page: Path) -> str:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (/usr/bin/chromium): `apt-get install -y chromium`")
    run = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


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
    dom = _dump_dom(page)
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
