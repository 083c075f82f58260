"""The retention run as a one-off process, for each service's Kubernetes CronJob (`python -m <service>.retention`):
the same run as `earlyhelp retention run` and the admin call, in one transaction on the service's own database,
printing the report as JSON lines for the cluster's log collection.

The database URL is read as the service reads it: `<SERVICE>_DATABASE_URL`, or the file of that name in
`EARLYHELP_SECRETS_DIR` (where Kubernetes mounts the Secret)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import async_url
from shared.platform_tables import PlatformTables
from shared.retention.admin import SourcesFactory
from shared.retention.engine import RetentionReport, run_retention
from shared.retention.schedule import load_schedule
from shared.retention.tables import RetentionTables


def database_url(service: str) -> str:
    variable = f"{service.upper()}_DATABASE_URL"
    value = os.environ.get(variable)
    secrets = os.environ.get("EARLYHELP_SECRETS_DIR")
    if not value and secrets and (Path(secrets) / variable).is_file():
        value = (Path(secrets) / variable).read_text().strip()
    if not value:
        raise SystemExit(f"retention: {variable} is not set (neither a variable nor a file in EARLYHELP_SECRETS_DIR)")
    return value


async def run_once(
    url: str,
    *,
    service: str,
    sources: SourcesFactory,
    tables: RetentionTables,
    platform: PlatformTables,
    as_of: date,
    dry_run: bool,
    actor: str,
) -> RetentionReport:
    engine = create_async_engine(async_url(url), poolclass=NullPool, hide_parameters=True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            return await run_retention(
                session,
                service=service,
                sources=sources(actor),
                schedule=load_schedule(),
                tables=tables,
                platform=platform,
                as_of=as_of,
                dry_run=dry_run,
                actor=actor,
            )
    finally:
        await engine.dispose()


def main(service: str, sources: SourcesFactory, tables: RetentionTables, platform: PlatformTables) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {service}.retention", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="list what would go and why; change nothing")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="the clock (YYYY-MM-DD); default today")
    parser.add_argument("--actor", default=f"retention-job:{service}", help="who the audit log names")
    args = parser.parse_args()
    report = asyncio.run(
        run_once(
            database_url(service),
            service=service,
            sources=sources,
            tables=tables,
            platform=platform,
            as_of=args.as_of or datetime.now(UTC).date(),
            dry_run=args.dry_run,
            actor=args.actor,
        )
    )
    for item in report.items:
        print(json.dumps({"event": "retention_item", "service": service, "dry_run": report.dry_run, **vars(item)}))
    print(json.dumps({"event": "retention_run", "service": service, "dry_run": report.dry_run,
                      "as_of": report.as_of, "items": len(report.items)}))  # fmt: skip
