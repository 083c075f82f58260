"""`earlyhelp retention run`: apply the retention schedule in every service's database and print what went (or, with
`--dry-run`, what would go) and why, as a table.

Each service's run is its own `retention_sources` under `shared.retention.engine.run_retention`, in one
transaction per service: the same code as `POST /v1/admin/retention/run` and the `<service>-retention` CronJob.
A service added later (intelligence) joins by naming its `retention_sources` in `_SOURCES`.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from earlyhelp.database import open_server
from earlyhelp.platform import SERVICES
from earlyhelp.sar import DEFAULT_PREFIX, _transaction
from shared.retention.engine import RetentionReport, RetentionSource, run_retention
from shared.retention.schedule import ScheduleError, load_schedule

retention_app = typer.Typer(help="The retention schedule: erase what is due, keep what is held.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True, width=160)


def _service_parts(name: str) -> tuple[Callable[[str], list[RetentionSource]], Any, Any] | None:
    """The service's sources and its retention and platform tables (imported here: only the CLI joins services);
    None for a service that has none yet (the intelligence service, until it ships its `retention_sources`)."""
    if name == "referrals":
        from referrals.models import platform, retention
        from referrals.retention.sources import retention_sources
    elif name == "cases":
        from cases.models import platform, retention
        from cases.retention.sources import retention_sources
    elif name == "outcomes":
        from outcomes.models import platform, retention
        from outcomes.retention.sources import retention_sources
    else:
        return None
    return retention_sources, retention, platform


async def run_all(
    server_url: str,
    *,
    services: list[str],
    as_of: date,
    dry_run: bool,
    actor: str,
    database_prefix: str = DEFAULT_PREFIX,
    schedule_path: str | None = None,
) -> list[RetentionReport]:
    schedule = load_schedule(schedule_path)
    reports = []
    for name in services:
        parts = _service_parts(name)
        if parts is None:
            reports.append(RetentionReport(service=name, as_of=as_of.isoformat(), dry_run=dry_run, schedule="none"))
            continue
        sources, tables, platform = parts
        async with _transaction(server_url, f"{database_prefix}{name}") as session:
            reports.append(
                await run_retention(
                    session,
                    service=name,
                    sources=sources(actor),
                    schedule=schedule,
                    tables=tables,
                    platform=platform,
                    as_of=as_of,
                    dry_run=dry_run,
                    actor=actor,
                )
            )
    return reports


def render(reports: list[RetentionReport]) -> Table:
    dry = bool(reports) and reports[0].dry_run
    title = f"Retention {'dry run' if dry else 'run'} as of {reports[0].as_of}" if reports else "Retention"
    table = Table(title=title)
    for column in ("service", "record type", "record", "rows", "due on", "action", "outcome", "why"):
        table.add_column(column, overflow="fold")
    for report in reports:
        for item in report.items:
            table.add_row(
                report.service,
                item.record_type,
                item.record_id,
                str(item.rows),
                item.due_on,
                item.action,
                item.outcome,
                item.reason,
            )
    return table


@retention_app.command("run")
def run_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would go and why; change nothing")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Apply the schedule as on this date (YYYY-MM-DD); default today")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
    schedule: Annotated[
        str | None,
        typer.Option(help="A council's schedule YAML (default: EARLYHELP_RETENTION_SCHEDULE, else the built-in one)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON instead of a table")] = False,
    actor: Annotated[str | None, typer.Option(help="Who runs it (audited); default cli:<user>")] = None,
    database_prefix: Annotated[
        str, typer.Option("--database-prefix", help="Databases are <prefix><service>")
    ] = DEFAULT_PREFIX,
) -> None:
    """Erase, anonymise or prune what the retention schedule says is due; legal holds keep a family's records."""
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError as exc:
        raise typer.BadParameter("a date as YYYY-MM-DD", param_hint="--as-of") from exc
    names = [s.name for s in SERVICES]
    if service is not None and service not in names:
        raise typer.BadParameter(f"one of {', '.join(names)}", param_hint="--service")
    try:
        load_schedule(schedule)
    except (ScheduleError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--schedule") from exc
    server = open_server()
    try:
        reports = asyncio.run(
            run_all(
                server.url,
                services=[service] if service else names,
                as_of=day,
                dry_run=dry_run,
                actor=actor or f"cli:{getpass.getuser()}",
                database_prefix=database_prefix,
                schedule_path=schedule,
            )
        )
    finally:
        server.stop()
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
        return
    console.print(render(reports))
    total = sum(len(r.items) for r in reports)
    console.print(f"{total} item(s){' would go (dry run: nothing changed)' if dry_run else ''}")
