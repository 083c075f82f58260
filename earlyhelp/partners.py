"""Synthetic partner datasets for a population (`earlyhelp seed --intelligence`, the benchmark, the tests).

Households of one or two adults and their children live at addresses in the demo hubs' postcode districts.
Each partner agency holds its own rows about them, with the errors real data has: typos, nicknames, upper
case, moved addresses, missing dates of birth and identifiers, and twins (same birthday, same surname). A
share of households carry several needs, so the pipeline has families to find. The ground truth — which
person and household every row is about, and which households meet the threshold — is kept beside the files.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from stdnum.gb import upn

from shared.identifiers import with_nhs_check_digit

DISTRICTS = {
    "north": ["LS6", "LS7", "LS8", "LS16", "LS17"],
    "central": ["LS1", "LS2", "LS3", "LS4", "LS9"],
    "south": ["LS10", "LS11", "LS15", "LS25", "LS27"],
}
NICKNAMES = {
    "Elizabeth": "Liz", "William": "Bill", "Robert": "Bob", "Margaret": "Maggie", "James": "Jim",
    "Thomas": "Tom", "Katherine": "Kate", "Daniel": "Dan", "Michael": "Mike", "Rebecca": "Becky",
    "Samuel": "Sam", "Jessica": "Jess", "Joseph": "Joe", "Charlotte": "Lottie", "Alexander": "Alex",
}  # fmt: skip
PERSON_HEADER = [
    "record_id", "given_name", "family_name", "date_of_birth", "postcode", "address_line", "uprn", "nhs_number",
    "upn",
]  # fmt: skip
TODAY = date(2026, 11, 30)
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters a postcode's inward code may use."""


@dataclass
class Person:
    id: int
    household: int
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str | None
    upn: str | None
    adult: bool


@dataclass
class Household:
    id: int
    hub: str
    postcode: str
    address_line: str
    uprn: str
    people: list[Person] = field(default_factory=list)
    needs: set[str] = field(default_factory=set)
    social_care: bool = False


def _upn(n: int) -> str:
    """A Leeds (383) Unique Pupil Number: check letter, LA number, 8 digits, a final 0."""
    body = f"383{n % 10**8:08d}0"
    return str(upn.calc_check_digit(body)) + body


def _nhs(n: int) -> str | None:
    return with_nhs_check_digit(f"6{n % 10**8:08d}")


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.random()
    if kind < 0.4:
        return name[:i] + name[i + 1 :]  # a letter dropped
    if kind < 0.8:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]  # two letters swapped
    return name[:i] + rng.choice("aeiou") + name[i + 1 :]


def population(people: int, seed: int) -> list[Household]:
    """Households for about `people` people (deterministic for a seed)."""
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    surnames = sorted({fake.last_name() for _ in range(5000)})
    first_f = [fake.first_name_female() for _ in range(400)] + list(NICKNAMES)[:8]
    first_m = [fake.first_name_male() for _ in range(400)] + list(NICKNAMES)[8:]
    streets = [fake.street_name() for _ in range(2000)]
    households: list[Household] = []
    count = 0
    while count < people:
        hid = len(households) + 1
        hub = rng.choice(list(DISTRICTS))
        district = rng.choice(DISTRICTS[hub])
        postcode = f"{district} {rng.randint(1, 9)}{rng.choice(_INWARD)}{rng.choice(_INWARD)}"
        household = Household(hid, hub, postcode, f"{rng.randint(1, 250)} {rng.choice(streets)}", str(10**8 + hid))
        surname = rng.choice(surnames)
        adults = 1 if rng.random() < 0.35 else 2
        children = rng.choices([0, 1, 2, 3, 4], weights=[30, 25, 25, 13, 7])[0]
        twins = children >= 2 and rng.random() < 0.03
        for a in range(adults):
            dob = TODAY - timedelta(days=rng.randint(20 * 365, 60 * 365))
            given = rng.choice(first_f if a == 0 else first_m)
            family = surname if a == 0 or rng.random() < 0.7 else rng.choice(surnames)
            household.people.append(
                Person(count + 1, hid, given, family, dob, _nhs(count + 1) if rng.random() < 0.9 else None, None, True)
            )
            count += 1
        child_dob = None
        for c in range(children):
            if not (twins and c == 1 and child_dob):
                child_dob = TODAY - timedelta(days=rng.randint(2 * 365, 17 * 365))
            given = rng.choice(first_f if rng.random() < 0.5 else first_m)
            while any(p.given_name == given for p in household.people):
                given = rng.choice(first_f + first_m)
            pid = count + 1
            household.people.append(
                Person(
                    pid,
                    hid,
                    given,
                    surname,
                    child_dob,
                    _nhs(pid) if rng.random() < 0.9 else None,
                    _upn(pid) if rng.random() < 0.85 else None,
                    False,
                )
            )
            count += 1
        household.social_care = children > 0 and rng.random() < 0.02
        if children > 0 and rng.random() < 0.12:
            household.needs = set(rng.sample(["education", "crime", "domestic_abuse", "worklessness", "housing",
                                              "health"], k=rng.randint(3, 5)))  # fmt: skip
        elif rng.random() < 0.3:
            household.needs = {rng.choice(["education", "worklessness", "housing", "crime"])}
        households.append(household)
    return households


class _Writer:
    """Rows of one kind, with each row's person and household kept for the ground truth."""

    def __init__(self, rng: random.Random, kind: str, columns: list[str]) -> None:
        self.rng, self.kind, self.columns = rng, kind, columns
        self.rows: list[list[Any]] = []
        self.truth: list[tuple[str, str, int, int]] = []

    def person_values(self, person: Person, household: Household, *, ids: float = 1.0) -> list[Any]:
        rng = self.rng
        given, family = person.given_name, person.family_name
        r = rng.random()
        if r < 0.06:
            given = _typo(rng, given)
        elif r < 0.10 and given in NICKNAMES:
            given = NICKNAMES[given]
        elif r < 0.13:
            family = _typo(rng, family)
        elif r < 0.16:
            given, family = given.upper(), family.upper()
        postcode, address, uprn = household.postcode, household.address_line, household.uprn
        if rng.random() < 0.04:  # an old address: another postcode in the same district
            postcode = postcode.split(" ")[0] + f" {rng.randint(1, 9)}{rng.choice(_INWARD)}{rng.choice(_INWARD)}"
            address, uprn = f"{rng.randint(1, 250)} Old Street", ""
        elif rng.random() < 0.3:
            uprn = ""
        dob = "" if rng.random() < 0.03 else person.date_of_birth.isoformat()
        nhs = person.nhs_number if person.nhs_number and rng.random() < ids else ""
        upn = person.upn if person.upn and rng.random() < ids else ""
        return [given, family, dob, postcode, address, uprn, nhs or "", upn or ""]

    def add(self, person: Person, household: Household, values: list[Any], *, ids: float = 1.0) -> None:
        record_id = f"{self.kind[:3].upper()}-{len(self.rows) + 1}"
        self.rows.append([record_id, *self.person_values(person, household, ids=ids), *values])
        self.truth.append((self.kind, record_id, person.id, household.id))


def _recent(rng: random.Random, days: int = 300) -> str:
    return (TODAY - timedelta(days=rng.randint(5, days))).isoformat()


def datasets(households: list[Household], seed: int) -> Iterator[_Writer]:
    """The seven kinds' rows for the population."""
    rng = random.Random(seed + 1)
    kinds: dict[str, list[str]] = {
        "school_census": ["school_urn", "term_end", "attendance_percent", "suspensions", "permanently_excluded"],
        "police_incident": ["incident_date", "incident_type", "role", "incident_reference"],
        "housing": ["status", "status_date"],
        "worklessness": ["benefit", "since"],
        "health": ["service", "since"],
        "neet": ["status", "status_date"],
        "social_care": ["status", "since"],
    }
    w = {k: _Writer(rng, k, PERSON_HEADER + cols) for k, cols in kinds.items()}
    terms = ["2024-12-20", "2025-04-04", "2025-07-18", "2025-12-19", "2026-04-01", "2026-07-22"]
    incident = 0
    for h in households:
        adults = [p for p in h.people if p.adult]
        children = [p for p in h.people if not p.adult]
        for child in children:
            age = (TODAY - child.date_of_birth).days // 365
            if 5 <= age <= 16:
                for term in terms:
                    low = "education" in h.needs
                    attendance = rng.uniform(70, 88) if low else min(100.0, rng.gauss(96, 2.5))
                    attendance = max(attendance, 91.0) if not low else attendance
                    suspensions = rng.randint(0, 4) if low and rng.random() < 0.3 else 0
                    w["school_census"].add(
                        child, h, [f"1{rng.randint(10000, 99999)}", term, f"{attendance:.1f}", suspensions, "false"],
                        ids=0.97,
                    )  # fmt: skip
            if age >= 16 and "worklessness" in h.needs and rng.random() < 0.5:
                w["neet"].add(child, h, ["neet", _recent(rng)], ids=0.6)
        for adult in adults:
            out_of_work = "worklessness" in h.needs
            for _ in range(3):  # claims history: a record per claim period
                w["worklessness"].add(
                    adult, h, ["out_of_work" if out_of_work else rng.choice(["in_work", "none"]), _recent(rng, 900)],
                    ids=0.95,
                )  # fmt: skip
        if "housing" in h.needs:
            w["housing"].add(adults[0], h, [rng.choice(["homeless", "at_risk", "temporary_accommodation"]),
                                            _recent(rng)], ids=0.2)  # fmt: skip
        if "crime" in h.needs:
            who = rng.choice(h.people if len(h.people) > 1 else adults)
            incident += 1
            w["police_incident"].add(who, h, [_recent(rng), rng.choice(["offence", "asb"]), "suspect",
                                              f"INC-{incident}"], ids=0.1)  # fmt: skip
        if "domestic_abuse" in h.needs:
            incident += 1
            for role, person in zip(("victim", "suspect"), adults, strict=False):
                w["police_incident"].add(person, h, [_recent(rng), "domestic_abuse", role, f"DA-{incident}"], ids=0.1)
        if "health" in h.needs:
            w["health"].add(adults[0], h, [rng.choice(["substance_misuse", "mental_health"]), _recent(rng, 600)])
        if h.social_care:
            w["social_care"].add(children[0], h, [rng.choice(["cin", "cp", "cla"]), _recent(rng)])
    yield from w.values()


def write(households: list[Household], seed: int, out: Path) -> dict[str, int]:
    """Write `<kind>.csv` for each kind and `truth.csv` into `out`; returns the row count per kind."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with (out / "truth.csv").open("w", newline="") as truth_file:
        truth = csv.writer(truth_file)
        truth.writerow(["kind", "record_id", "person", "household"])
        for writer in datasets(households, seed):
            with (out / f"{writer.kind}.csv").open("w", newline="") as f:
                rows = csv.writer(f)
                rows.writerow(writer.columns)
                rows.writerows(writer.rows)
            truth.writerows(writer.truth)
            counts[writer.kind] = len(writer.rows)
    with (out / "households.csv").open("w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["household", "hub", "needs", "social_care"])
        rows.writerows([h.id, h.hub, " ".join(sorted(h.needs)), h.social_care] for h in households)
    return counts


AGENCIES = {
    "school_census": "LCC-EDU", "police_incident": "WYP", "housing": "LCC-HOUSING", "worklessness": "DWP",
    "health": "WY-ICB", "neet": "LCC-NEET", "social_care": "LCC-CSC",
}  # fmt: skip


async def seed_partner_datasets(database_url: str, *, people: int, seed: int, out: Path) -> list[str]:
    """Generate the partner datasets of `people` people into `out` and import each through the intelligence
    service's own import (same checks and merge as `POST /v1/datasets`); importing the same files again changes
    nothing. Returns a line per kind."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.pool import NullPool

    from intelligence.config import Settings
    from intelligence.datasets.kinds import KINDS
    from intelligence.datasets.repository import DatasetsRepository
    from intelligence.datasets.service import DatasetsService
    from shared.auth import Principal
    from shared.db import async_url

    counts = write(population(people, seed), seed, out)
    principal = Principal(sub="earlyhelp-seed", roles=frozenset({"admin"}), agency="LCC", agency_type="council")
    settings = Settings(database_url=database_url)
    engine = create_async_engine(async_url(database_url), poolclass=NullPool, hide_parameters=True)
    lines = []

    async def chunks(path: Path) -> Any:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk

    try:
        for kind in counts:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                report = await DatasetsService(DatasetsRepository(session), settings=settings).import_csv(
                    kind=KINDS[kind],
                    body=chunks(out / f"{kind}.csv"),
                    source_agency=AGENCIES[kind],
                    sharing_agreement="DSA-DEMO",
                    lawful_basis="6(1)(e)",
                    special_category_condition="9(2)(h)" if KINDS[kind].special_category else None,
                    retention_days=None,
                    principal=principal,
                )
            lines.append(
                f"intelligence: {kind} {report.rows_total} rows ({report.rows_loaded} new, "
                f"{report.rows_unchanged} unchanged, {report.rows_rejected} rejected)"
            )
    finally:
        await engine.dispose()
    return lines
