"""`earlyhelp`: run, migrate, seed and inspect the Early Help Platform.

earlyhelp up                 everything `make run` does
earlyhelp migrate            create the databases and apply every service's migrations
earlyhelp dev-token ...      a bearer token from the development issuer
earlyhelp seed --demo        load the deterministic demo data
earlyhelp audit verify       check every service's hash-chained access log
earlyhelp smoke ...          staging smoke and contract suite against a deployment (JUnit XML)
earlyhelp report cohort ...  the data team's offline HTML cohort report
earlyhelp hubs load FILE     load the council's hub postcode mapping (admin token)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from earlyhelp.database import migrate_all, open_server
from earlyhelp.hubs import hubs_app
from earlyhelp.platform import BY_NAME, DATA_DIR, GATEWAY, INTELLIGENCE, PARTS, REFERRALS, SERVICES, process_env
from earlyhelp.report import report_app
from earlyhelp.retention import retention_app
from earlyhelp.sar import sar_command
from earlyhelp.smoke import smoke_command
from shared.auth import AGENCY_TYPES, ROLES, ensure_dev_key, mint_token
from shared.settings import DEV_AUDIENCE, DEV_ISSUER

app = typer.Typer(
    help="Run, migrate, seed and inspect the Early Help Platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
audit_app = typer.Typer(help="The hash-chained access log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")
app.add_typer(retention_app, name="retention")
app.add_typer(hubs_app, name="hubs")
app.command("smoke")(smoke_command)
app.command("sar")(sar_command)
console = Console(highlight=False, soft_wrap=True)
DEMO_FAMILIES = 60
DEMO_SEED = 2026
if TYPE_CHECKING:
    from pathlib import Path

    from rich.progress import TaskID
KEY_PATH = DATA_DIR / "dev-signing-key.pem"

# Development identities printed by `up` — one per role, consistent with the demo data.
DEV_IDENTITIES: dict[str, dict[str, object]] = {
    "partner_system": {"sub": "school-mis-001", "agency": "SCH-100001", "agency_type": "school", "hubs": []},
    "practitioner": {"sub": "demo-north-1", "agency": "LCC", "agency_type": "council", "hubs": ["north"]},
    "hub_manager": {"sub": "demo-north-0", "agency": "LCC", "agency_type": "council", "hubs": ["north"]},
    "analyst": {
        "sub": "analyst-1",
        "agency": "LCC",
        "agency_type": "council",
        "hubs": ["north", "central", "south"],
    },
    "auditor": {"sub": "auditor-1", "agency": "LCC", "agency_type": "council", "hubs": []},
    "admin": {
        "sub": "admin-1",
        "agency": "LCC",
        "agency_type": "council",
        "hubs": ["north", "central", "south"],
    },
}


def _dev_token(role: str, **override: object) -> str:
    identity = {
        **DEV_IDENTITIES.get(role, {"sub": f"dev-{role}"}),
        **{k: v for k, v in override.items() if v},
    }
    return mint_token(
        ensure_dev_key(KEY_PATH),
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        sub=str(identity["sub"]),
        roles=[role],
        agency=identity.get("agency"),  # type: ignore[arg-type]
        agency_type=identity.get("agency_type"),  # type: ignore[arg-type]
        hubs=identity.get("hubs") or [],  # type: ignore[arg-type]
        ttl_seconds=12 * 3600,
    )


@app.command("dev-token")
def dev_token(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    agency: Annotated[str | None, typer.Option(help="Agency code, e.g. SCH-100001")] = None,
    agency_type: Annotated[str | None, typer.Option(help=f"One of: {', '.join(AGENCY_TYPES)}")] = None,
    hub: Annotated[list[str] | None, typer.Option(help="Hub code (repeatable): north, central, south")] = None,
    sub: Annotated[str | None, typer.Option(help="Subject (the caller's id)")] = None,
) -> None:
    """Print a bearer token signed by the development issuer (never accepted in production)."""
    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}; choose from {', '.join(ROLES)}", param_hint="--role")
    if agency_type and agency_type not in AGENCY_TYPES:
        raise typer.BadParameter(f"unknown agency type {agency_type!r}", param_hint="--agency-type")
    typer.echo(_dev_token(role, agency=agency, agency_type=agency_type, hubs=hub, sub=sub))


@app.command()
def migrate(
    service: Annotated[
        str | None,
        typer.Option(help="Only this service, using <SERVICE>_DATABASE_URL (as a Kubernetes Job does)"),
    ] = None,
) -> None:
    """Create the databases if missing and apply every service's Alembic migrations."""
    if service:
        part = BY_NAME.get(service)
        if part is None or part.service_dir is None:
            raise typer.BadParameter("choose referrals, cases, outcomes or intelligence", param_hint="--service")
        url = os.environ.get(f"{part.prefix}_DATABASE_URL")
        if not url:
            raise typer.BadParameter(f"{part.prefix}_DATABASE_URL is not set", param_hint="--service")
        from shared.migrate import upgrade

        upgrade(part.service_dir, url)
        console.print(f"{service}: migrated to head")
        return
    server = open_server()
    try:
        created = migrate_all(server.url)
        console.print(
            f"migrated {', '.join(s.name for s in SERVICES)}" + (f" (created {', '.join(created)})" if created else "")
        )
    finally:
        server.stop()


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the deterministic synthetic demo dataset")] = False,
    intelligence: Annotated[
        bool, typer.Option("--intelligence", help="Generate and import partner datasets for the intelligence service")
    ] = False,
    people: Annotated[
        int, typer.Option(min=1, max=2_000_000, help="How many people the partner datasets describe")
    ] = 5000,
    families: Annotated[
        int, typer.Option(min=0, max=60_000, help="How many demo families (10,000 load in under two minutes)")
    ] = DEMO_FAMILIES,
    seed_value: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives the same data")
    ] = DEMO_SEED,
) -> None:
    """Load the demo families into every service (what is already there is left alone: running twice adds nothing)."""
    if not demo and not intelligence:
        raise typer.BadParameter("choose --demo and/or --intelligence", param_hint="--demo")
    server = open_server()
    try:
        migrate_all(server.url)
        if intelligence:
            from earlyhelp.partners import seed_partner_datasets
            from shared.migrate import with_database

            out = DATA_DIR / "partner-datasets"
            url = with_database(server.url, INTELLIGENCE.database)
            for line in asyncio.run(seed_partner_datasets(url, people=people, seed=seed_value, out=out)):
                console.print(line)
            console.print(f"partner datasets (and truth.csv) in {out}; link them with POST /v1/linkage-runs")
        if not demo:
            return
        from earlyhelp.demo import OtherDemoPresent

        try:
            lines = _seed_demo(server.url, families=families, seed=seed_value)
        except OtherDemoPresent as exc:
            console.print(f"[red]not seeded:[/] {exc}")
            raise typer.Exit(1) from None
        for line in lines:
            console.print(line)
    finally:
        server.stop()


DEMO_PARTNER_PEOPLE = 2000
"""People the demo's partner datasets describe (the intelligence service links them into households)."""


def _seed_partner_data(server_url: str) -> list[str]:
    from earlyhelp.partners import seed_partner_datasets
    from shared.migrate import with_database

    url = with_database(server_url, INTELLIGENCE.database)
    out = DATA_DIR / "partner-datasets"
    return asyncio.run(seed_partner_datasets(url, people=DEMO_PARTNER_PEOPLE, seed=DEMO_SEED, out=out))


def _link_partner_data() -> str:
    """Once the platform is up: one linkage run over the demo partner datasets, so each hub has identified
    families to look at (the intelligence service asks outcomes for the active framework)."""
    import httpx

    try:
        response = httpx.post(
            f"{INTELLIGENCE.url}/v1/linkage-runs",
            headers={"Authorization": f"Bearer {_dev_token('analyst')}"},
            timeout=600,
        )
        diagnostics = response.json()["diagnostics"] if response.status_code == 201 else None
    except (httpx.HTTPError, ValueError, KeyError):
        diagnostics = None
    if diagnostics is None:
        return "intelligence: the demo linkage run did not complete (POST /v1/linkage-runs to retry)"
    return (
        f"intelligence: {diagnostics['records']} partner records linked into {diagnostics['people']} people, "
        f"{diagnostics['identified']} families identified"
    )


def _seed_demo(server_url: str, *, families: int, seed: int) -> list[str]:
    """Seed with a progress bar on a terminal, or a plain line per service and step otherwise."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from earlyhelp.demo import seed_all

    started = time.monotonic()
    if console.is_terminal:
        with Progress(
            TextColumn("  {task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True,
        ) as bar:  # fmt: skip
            tasks: dict[str, TaskID] = {}

            def show(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                bar.update(tasks[phase], completed=done, total=total)

            lines = asyncio.run(seed_all(server_url, families=families, seed=seed, progress=show))
    else:
        last: dict[str, int] = {}

        def show(phase: str, done: int, total: int) -> None:
            # At most one line per tenth of the way, so a log is not flooded.
            step = done * 10 // max(total, 1)
            if done and last.get(phase) != step:
                last[phase] = step
                console.print(f"  {phase}: {done}/{total}", markup=False)

        lines = asyncio.run(seed_all(server_url, families=families, seed=seed, progress=show))
    return [*lines, f"demo data loaded in {time.monotonic() - started:.1f}s"]


@audit_app.command("verify")
def audit_verify(
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
) -> None:
    """Recompute every service's audit chain; exit 1 if any row was edited or removed."""
    from earlyhelp.audit import verify_all

    server = open_server()
    try:
        reports = asyncio.run(verify_all(server.url, [service] if service else [s.name for s in SERVICES]))
    finally:
        server.stop()
    failed = False
    for name, report in reports.items():
        if report.ok:
            console.print(f"[green]✔[/] {name}: {report.rows} rows, chain intact")
        else:
            failed = True
            console.print(f"[red]✘[/] {name}: row {report.first_bad_seq}: {report.reason}")
    raise typer.Exit(1 if failed else 0)


@app.command()
def up(
    seed_demo: Annotated[bool, typer.Option("--seed/--no-seed", help="Load demo data on first start")] = True,
    with_parent: Annotated[
        bool,
        typer.Option(
            "--stop-with-parent",
            help="Stop when the process that started this one stops or is signalled to (what `make run` uses)",
        ),
    ] = False,
) -> None:
    """Start PostgreSQL (embedded unless DATABASE_URL is set), migrate, seed, run all services and the gateway."""
    from earlyhelp.supervisor import FATAL_SIGNALS, Child, Supervisor, stop_with_parent, uvicorn_cmd
    from earlyhelp.supervisor import console as sup_console

    def _interrupt(signum: int, _frame: object) -> None:
        for sig in FATAL_SIGNALS:  # a second signal must not interrupt the stopping itself
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly (no orphans) even before the watch loop starts
    signal.signal(signal.SIGHUP, _interrupt)
    if with_parent:
        stop_with_parent()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    ensure_dev_key(KEY_PATH)
    console.print("[bold]Early Help Platform[/] starting…")
    server = open_server()
    console.print(
        f"  database: {'embedded PostgreSQL in ' + str(DATA_DIR / 'pg') if server.embedded else 'DATABASE_URL'}"
    )
    supervisor = Supervisor()
    try:
        created = migrate_all(server.url)
        console.print("  migrations: every service at head" + (f" (created {', '.join(created)})" if created else ""))
        marker = DATA_DIR / "demo-seeded"
        link_partner_data = False
        if seed_demo and not marker.exists():
            for line in _seed_demo(server.url, families=DEMO_FAMILIES, seed=DEMO_SEED):
                console.print(f"  {line}")
            for line in _seed_partner_data(server.url):
                console.print(f"  {line}")
            link_partner_data = True
            marker.write_text("seeded\n")
        ports = {p.name: p.port for p in PARTS}
        for part in PARTS:
            env = process_env(part, server_url=server.url, ports=ports, key_path=KEY_PATH, data_dir=DATA_DIR)
            supervisor.children.append(
                Child(
                    part.name,
                    uvicorn_cmd(part.app, ports[part.name]),
                    env,
                    DATA_DIR / "logs" / f"{part.name}.log",
                    part.url,
                )
            )
        supervisor.start_all()
        not_ready = supervisor.wait_ready()
        if not_ready:
            sup_console.print(f"[bold red]not ready:[/] {', '.join(not_ready)} — see {DATA_DIR / 'logs'}")
        elif link_partner_data:
            console.print(f"  {_link_partner_data()}")
        _print_summary()
        supervisor.watch()
    except KeyboardInterrupt:
        pass
    finally:
        for sig in FATAL_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        console.print("\nstopping…")
        supervisor.stop_all()
        server.stop()
        console.print("stopped: every process this command started has exited.")


TRIAGE_QUERY = (
    '{ triageQueue(hubId: \\"north\\", first: 5) { edges { node { id kind status breached decisionDueAt } } } }'
)


def try_it_lines(token_file: Path) -> list[str]:
    """The summary's examples: submit a school referral as a school's system, then read the hub's triage queue
    through the gateway (a test runs them as printed)."""
    from earlyhelp.platform import REPO_ROOT

    example = REPO_ROOT / "examples" / "school-referral.json"
    return [
        f"source {token_file}",
        f'curl -s -X POST {REFERRALS.url}/v1/referrals/school -H "Authorization: Bearer $PARTNER_SYSTEM_TOKEN" '
        f"-H \"Idempotency-Key: $(uuidgen 2>/dev/null || date +%s%N)\" -H 'Content-Type: application/json' "
        f"-d @{example}",
        f'curl -s {GATEWAY.url}/graphql -H "Authorization: Bearer $HUB_MANAGER_TOKEN" '
        f"-H 'Content-Type: application/json' -d '{{\"query\": \"{TRIAGE_QUERY}\"}}'",
    ]


def _print_summary() -> None:
    from earlyhelp.platform import CASES, OUTCOMES

    tokens = {role: _dev_token(role) for role in DEV_IDENTITIES}
    token_file = DATA_DIR / "dev-tokens.env"
    token_file.write_text("".join(f"{role.upper()}_TOKEN={tok}\n" for role, tok in tokens.items()))
    console.print("\n[bold green]Ready.[/]")
    console.print(f"  GraphQL gateway   {GATEWAY.url}/graphql   (GraphiQL in the browser)")
    for part in (REFERRALS, CASES, OUTCOMES, INTELLIGENCE):
        console.print(f"  {part.name:<17} {part.url}/docs      (OpenAPI: {part.url}/openapi.json)")
    console.print(f"  logs              {DATA_DIR / 'logs'}")
    console.print("\n[bold]Development tokens[/] (valid 12 hours; `earlyhelp dev-token --role ROLE` makes more):")
    for role, tok in tokens.items():
        console.print(f"  {role:<15} {tok[:24]}…", markup=False)
    console.print(f"  (all in full in {token_file}: `source {token_file}`)")
    console.print("\n[bold]Try it[/] (copy and paste):")
    for line in try_it_lines(token_file):
        console.print(f"  {line}", markup=False)
    console.print("\nCtrl-C stops everything.")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
