"""`earlyhelp report cohort --html report.html`: an offline, self-contained HTML report for the data team.

A thin command over `gateway.reports`, which also serves the same report at the gateway's `GET /reports/cohort`:
the data comes from the services' own APIs — the outcomes cohort report (counts only), the outcomes claims list
and the referrals list — so the report holds counts and durations, never a name or an identifier. The HTML has
inline CSS and inline SVG charts, no script and no external resource: it opens from a file share or an e-mail
attachment with no network.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from earlyhelp.platform import OUTCOMES, REFERRALS
from gateway.clients import Caller, OutcomesAPI, ReferralsAPI, Upstream
from gateway.errors import UpstreamError
from gateway.reports import CohortData, build_html, collect

__all__ = ["CohortData", "ReportError", "build_html", "collect_from", "report_app"]

TIMEOUT_SECONDS = 30.0


class ReportError(Exception):
    """The data for the report could not be fetched."""


async def collect_from(
    *, token: str, outcomes_url: str, referrals_url: str, referrals_token: str | None = None
) -> CohortData:
    """`gateway.reports.collect` against the services' base URLs, with one token for outcomes and one (or the
    same) for referrals."""
    outcomes = Upstream("outcomes", outcomes_url, timeout=TIMEOUT_SECONDS, connect_timeout=5.0)
    referrals = Upstream("referrals", referrals_url, timeout=TIMEOUT_SECONDS, connect_timeout=5.0)
    try:
        return await collect(
            OutcomesAPI(outcomes, Caller(token=token, request_id=None)),
            ReferralsAPI(referrals, Caller(token=referrals_token or token, request_id=None)),
            referrals_hint="pass --referrals-token with an analyst, hub_manager or admin token",
        )
    except UpstreamError as exc:
        hint = " (the token needs the analyst or admin role)" if exc.status in (401, 403) else ""
        raise ReportError(f"{exc.service}: {exc.detail}{hint}") from exc
    finally:
        await outcomes.aclose()
        await referrals.aclose()


report_app = typer.Typer(help="Reports for the data team.", no_args_is_help=True)


@report_app.command("cohort")
def cohort_command(
    html_path: Annotated[Path, typer.Option("--html", help="Write the HTML report here")],
    token: Annotated[
        str | None, typer.Option(envvar="EARLYHELP_TOKEN", help="Bearer token with the analyst or admin role")
    ] = None,
    referrals_token: Annotated[
        str | None,
        typer.Option(help="Token for the referrals list (hub_manager or admin); defaults to --token"),
    ] = None,
    outcomes_url: Annotated[str, typer.Option(help="Base URL of the outcomes service")] = OUTCOMES.url,
    referrals_url: Annotated[str, typer.Option(help="Base URL of the referrals service")] = REFERRALS.url,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also save the aggregated data as JSON")] = None,
    from_json: Annotated[
        Path | None, typer.Option(help="Render from data saved earlier with --json instead of calling the APIs")
    ] = None,
) -> None:
    """Write the cohort report as one offline HTML file with inline SVG charts (the gateway serves the same
    report at GET /reports/cohort)."""
    if from_json is not None:
        data = CohortData.from_json(json.loads(from_json.read_text()))
    else:
        if not token:
            raise typer.BadParameter("a token is needed (or set EARLYHELP_TOKEN)", param_hint="--token")
        try:
            data = asyncio.run(
                collect_from(
                    token=token, outcomes_url=outcomes_url, referrals_url=referrals_url, referrals_token=referrals_token
                )
            )
        except ReportError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    html_path.write_text(build_html(data), encoding="utf-8")
    if json_path is not None:
        json_path.write_text(json.dumps(data.to_json(), indent=2))
    for note in data.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"wrote {html_path} ({data.cohort.get('families_enrolled', 0)} families, {len(data.decisions)} decisions)"
    )
