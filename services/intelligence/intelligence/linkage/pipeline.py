"""One linkage run's computation, off the event loop: records (from a CSV export) into DuckDB, linked into
people by splink, people grouped into households, each household's needs computed; timings per stage."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from intelligence.families.needs import meets_threshold, need_profile
from intelligence.hubs import allocate_hub
from intelligence.linkage.engine import link_records, nicknames
from intelligence.linkage.households import Household, Person, Record, households

_LOAD = "CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, all_varchar = true)"
_RECORDS = """
CREATE TABLE records AS
SELECT CAST(id AS BIGINT) AS unique_id,
       coalesce(n.canonical, lower(given_name)) AS given_name,
       lower(family_name) AS family_name,
       TRY_CAST(date_of_birth AS DATE) AS date_of_birth,
       postcode, nhs_number, upn
FROM raw LEFT JOIN nick n ON n.nickname = lower(raw.given_name)
"""


@dataclass
class PipelineSettings:
    threshold: float
    engine: str
    spark_master: str | None
    months: int
    default_hub: str
    today: date


@dataclass
class PipelineOutcome:
    links: list[tuple[int, str, str | None, str | None]]
    families: list[dict[str, Any]]
    model: dict[str, Any]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _load(connection: duckdb.DuckDBPyConnection, path: Path) -> dict[int, Record]:
    connection.execute(_LOAD, [str(path)])
    connection.execute("CREATE TABLE nick (nickname VARCHAR, canonical VARCHAR)")
    connection.executemany("INSERT INTO nick VALUES (?, ?)", list(nicknames().items()))
    connection.execute(_RECORDS)
    rows = connection.sql(
        "SELECT id, kind, source_agency, record_id, given_name, family_name, date_of_birth, postcode, address_line,"
        " uprn, event_date, attributes, nhs_number, upn FROM raw"
    ).fetchall()
    return {
        int(r[0]): Record(
            pk=int(r[0]),
            kind=r[1],
            source_agency=r[2],
            record_id=r[3],
            person=0,
            given_name=r[4],
            family_name=r[5],
            date_of_birth=_date(r[6]),
            postcode=r[7],
            address_line=r[8],
            uprn=r[9],
            event_date=_date(r[10]),
            attributes=json.loads(r[11]) if r[11] else {},
            nhs_number=r[12],
            upn=r[13],
        )
        for r in rows
    }


def _family(
    household: Household, people: dict[int, Person], framework: Any, s: PipelineSettings
) -> dict[str, Any] | None:
    members = {k: people[k].records for k in household.members}
    dobs = {k: people[k].date_of_birth for k in household.members}
    profile = need_profile(members, dobs, framework, months=s.months, today=s.today)
    if not (profile.statutory or meets_threshold(profile, framework)):
        return None
    hub, defaulted = allocate_hub(household.postcode, default_hub=s.default_hub)
    return {
        "household_key": household.key,
        "hub": hub,
        "hub_defaulted": defaulted,
        "postcode": household.postcode,
        "address_line": household.address_line,
        "framework": framework.label,
        "needs": profile.needs,
        "need_count": len(profile.needs),
        "latest_evidence": profile.latest_evidence,
        "members": [{**people[k].summary(), "reason": why} for k, why in household.members.items()],
        "statutory": profile.statutory,
        "status": "statutory" if profile.statutory else "identified",
    }


def run_pipeline(
    path: Path, framework: Any, settings: PipelineSettings, model: dict[str, Any] | None
) -> PipelineOutcome:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    connection = duckdb.connect()
    records = _load(connection, path)
    timings["load_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    result = link_records(
        connection,
        threshold=settings.threshold,
        engine=settings.engine,
        spark_master=settings.spark_master,
        model=model,
    )
    timings["linkage_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    people: dict[int, Person] = {}
    for pk, person in result.clusters.items():
        record = records[pk]
        record.person = person
        people.setdefault(person, Person(person)).records.append(record)
    grouped = households(people)
    timings["households_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    links: list[tuple[int, str, str | None, str | None]] = []
    families = []
    for household in grouped:
        for key, why in household.members.items():
            links.extend((r.pk, str(key), household.key, why) for r in people[key].records)
        if (family := _family(household, people, framework, settings)) is not None:
            families.append(family)
    timings["needs_seconds"] = time.perf_counter() - clock
    connection.close()
    return PipelineOutcome(
        links=links,
        families=families,
        model=result.model,
        diagnostics={
            **{k: round(v, 3) for k, v in timings.items()},
            "trained": result.trained,
            "records": len(records),
            "people": len(people),
            "households": len(grouped),
            "pairs_scored": result.pairs_scored,
            "pairs_linked": result.pairs_linked,
            "identified": sum(1 for f in families if f["status"] == "identified"),
            "statutory": sum(1 for f in families if f["status"] == "statutory"),
        },
    )
