"""`earlyhelp sar`: a subject access request — everything the platform holds about one person, as one JSON.

Each service's own `export_subject` reads its database (one transaction per service, as the demo seed does)
and appends an `export` row to that service's access log for every record it exported, so the request is
itself audited. The document is `{"subject", "referrals", "cases", "outcomes", "third_party_review", "generated_at"}`;
`--html` also writes it as a readable bundle (earlyhelp/sar_bundle.py) with third-party data marked for review.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from earlyhelp.database import open_server
from earlyhelp.platform import SERVICES
from earlyhelp.sar_bundle import render_html, third_party_review
from shared.db import async_url
from shared.identifiers import normalise_nhs_number, normalise_upn
from shared.migrate import with_database

DEFAULT_PREFIX = "earlyhelp_"


@asynccontextmanager
async def _transaction(server_url: str, database: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(
        async_url(with_database(server_url, database)), poolclass=NullPool, hide_parameters=True
    )
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


async def export_all(
    server_url: str,
    *,
    nhs_number: str | None,
    upn: str | None,
    actor: str,
    database_prefix: str = DEFAULT_PREFIX,
) -> dict[str, Any]:
    """Export the person from every service; each service's export and its audit rows commit together.

    Cases is asked first: it knows the person behind the identifiers (with every duplicate merged into them), and
    the other services are then also asked by those person ids, so a referral naming a baby without an NHS number,
    matched to the subject, is found too.
    """
    from cases.people.subject_access import export_subject as export_cases
    from intelligence.subject_access import export_subject as export_intelligence
    from outcomes.subject_access import export_subject as export_outcomes
    from referrals.subject_access import export_subject as export_referrals

    exporters = {"referrals": export_referrals, "outcomes": export_outcomes, "intelligence": export_intelligence}
    document: dict[str, Any] = {"subject": {"nhs_number": nhs_number, "upn": upn, "requested_by": actor}}
    async with _transaction(server_url, f"{database_prefix}cases") as session:
        document["cases"] = await export_cases(session, nhs_number=nhs_number, upn=upn, actor=actor)
    person_ids = [uuid.UUID(p["id"]) for p in document["cases"]["people"]]
    for service in SERVICES:
        if service.name == "cases":
            continue
        async with _transaction(server_url, f"{database_prefix}{service.name}") as session:
            document[service.name] = await exporters[service.name](
                session, nhs_number=nhs_number, upn=upn, actor=actor, person_ids=person_ids
            )
    document["third_party_review"] = third_party_review(document)
    document["generated_at"] = datetime.now(UTC).isoformat()
    return {
        key: document[key] for key in ("subject", *(s.name for s in SERVICES), "third_party_review", "generated_at")
    }


def _valid(value: str | None, normalise: Any, option: str) -> str | None:
    if value is None:
        return None
    try:
        return str(normalise(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def sar_command(
    nhs_number: Annotated[str | None, typer.Option("--nhs-number", help="The person's NHS number")] = None,
    upn: Annotated[str | None, typer.Option("--upn", help="The person's Unique Pupil Number")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here instead of printing it")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a readable HTML bundle here, third-party data marked")
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who is making the request (audited); default cli:<user>")
    ] = None,
    database_prefix: Annotated[
        str, typer.Option("--database-prefix", help="Databases are <prefix><service>")
    ] = DEFAULT_PREFIX,
) -> None:
    """Subject access request: export everything held about one person across the services as JSON (audited)."""
    nhs = _valid(nhs_number, normalise_nhs_number, "--nhs-number")
    pupil = _valid(upn, normalise_upn, "--upn")
    if nhs is None and pupil is None:
        raise typer.BadParameter("give --nhs-number or --upn (or both)", param_hint="--nhs-number")
    who = actor or f"cli:{getpass.getuser()}"
    server = open_server()
    try:
        document = asyncio.run(
            export_all(server.url, nhs_number=nhs, upn=pupil, actor=who, database_prefix=database_prefix)
        )
    finally:
        server.stop()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if html is not None:
        html.write_text(render_html(document), encoding="utf-8")
        typer.echo(f"readable bundle written to {html}; review the marked third-party data before release", err=True)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    counts = (
        f"{len(document['referrals']['referrals'])} referrals, {len(document['cases']['cases'])} cases, "
        f"{len(document['outcomes']['enrolments'])} enrolments"
    )
    typer.echo(f"subject access export written to {out} ({counts})", err=True)
