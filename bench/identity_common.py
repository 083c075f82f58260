"""A labelled synthetic population for person matching (shared by the identity benchmark and the model training).

Households (Faker en_GB names and postcodes) of parents and children, with NHS numbers and, for school-age
children, UPNs; twins with the same birth date and surname. Then the records partners send about them, with the
errors partner systems make: typos, short forms of given names, swapped names, transposed dates, a date one part
wrong, a new postcode after a move, missing postcodes, mistyped identifiers and identifiers reused from a sibling
or a stranger; and records of people who are not in the index at all (some of them twins of someone who is).
Each record carries `truth`: the index id of the person it is about, or None.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from cases.people.matching import _nickname_groups, normalise_name
from tests.support.factories import nhs_number_for
from tests.support.factories import upn as upn_for

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")


@dataclass(frozen=True)
class Row:
    id: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    postcode: str | None
    nhs_number: str | None
    upn: str | None
    truth: str | None = None
    error: str = "none"


def _short_forms() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, canonicals in _nickname_groups().items():
        for canonical in canonicals:
            if name != canonical:
                out.setdefault(canonical, []).append(name)
    return out


def typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name + name[-1]
    i = rng.randint(1, len(name) - 2)
    op = rng.choice(("swap", "drop", "double", "vowel"))
    if op == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if op == "drop":
        return name[:i] + name[i + 1 :]
    if op == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + rng.choice("aeiouy") + name[i + 1 :]


class Population:
    def __init__(self, people: int, seed: int = 20261203) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.short = _short_forms()
        self.serial = 0
        self.index: list[Row] = []
        self.twins: list[tuple[Row, Row]] = []
        while len(self.index) < people:
            self._household()
        self.index = self.index[:people]

    def _postcode(self) -> str:
        while True:
            pc = self.fake.postcode()
            if POSTCODE.match(pc):
                return pc

    def _person(self, family: str, born: date, postcode: str, *, female: bool, child: bool) -> Row:
        self.serial += 1
        n = self.serial
        given = self.fake.first_name_female() if female else self.fake.first_name_male()
        nhs = nhs_number_for(n, base=600_000_000) if self.rng.random() < 0.7 else None
        upn = upn_for(n, prefix="80") if child and born.year <= 2021 and self.rng.random() < 0.8 else None
        return Row(f"p{n}", given, family, born, postcode, nhs, upn)

    def _household(self) -> None:
        rng = self.rng
        family, postcode = self.fake.last_name(), self._postcode()
        adults = rng.choice((1, 2, 2))
        for a in range(adults):
            born = date(1970, 1, 1) + timedelta(days=rng.randrange(365 * 30))
            self.index.append(self._person(family, born, postcode, female=a == 0, child=False))
        for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
            born = date(2006, 1, 1) + timedelta(days=rng.randrange(365 * 20))
            self.index.append(self._person(family, born, postcode, female=rng.random() < 0.5, child=True))
            if rng.random() < 0.03:  # twins: same birth date, same surname, same address
                twin = self._person(family, born, postcode, female=rng.random() < 0.5, child=True)
                if normalise_name(twin.given_name) != normalise_name(self.index[-1].given_name):
                    self.index.append(twin)
                    self.twins.append((self.index[-2], twin))

    # --- the records partners send ------------------------------------------------------------------------

    def queries(self, count: int) -> list[Row]:
        """Records about people of the index (with errors) and about new people, labelled."""
        rng = self.rng
        out: list[Row] = []
        kinds = [
            ("none", 10), ("typo_family", 10), ("typo_given", 10), ("short_form", 8), ("swapped", 5),
            ("transposed", 5), ("dob_one_part", 5), ("moved", 10), ("no_postcode", 7), ("typo_both", 4),
            ("mistyped_identifier", 4), ("reused_identifier", 6), ("new_person", 12), ("twin_not_in_index", 4),
        ]  # fmt: skip
        names, weights = zip(*kinds, strict=True)
        for q in range(count):
            kind = rng.choices(names, weights)[0]
            source = rng.choice(self.index)
            out.append(self._query(q, kind, source))
        return out

    def _query(self, q: int, kind: str, p: Row) -> Row:
        rng = self.rng
        row = replace(p, id=f"q{q}", truth=p.id, error=kind)
        if rng.random() < 0.5:  # partners often send no identifier at all
            row = replace(row, nhs_number=None, upn=None)
        dob = p.date_of_birth or date(2010, 1, 1)
        match kind:
            case "typo_family":
                row = replace(row, family_name=typo(p.family_name, rng))
            case "typo_given":
                row = replace(row, given_name=typo(p.given_name, rng))
            case "typo_both":
                row = replace(row, given_name=typo(p.given_name, rng), family_name=typo(p.family_name, rng))
            case "short_form":
                forms = self.short.get(normalise_name(p.given_name))
                row = replace(row, given_name=rng.choice(forms).title() if forms else p.given_name.upper())
            case "swapped":
                row = replace(row, given_name=p.family_name, family_name=p.given_name)
            case "transposed" if dob.day <= 12 and dob.day != dob.month:
                row = replace(row, date_of_birth=date(dob.year, dob.day, dob.month))
            case "transposed" | "dob_one_part":
                row = replace(row, date_of_birth=_one_part(dob, rng), error="dob_one_part")
            case "moved":
                row = replace(row, postcode=self._postcode())
            case "no_postcode":
                row = replace(row, postcode=None)
            case "mistyped_identifier":
                self.serial += 1
                row = replace(row, nhs_number=nhs_number_for(self.serial, base=700_000_000), upn=None)
            case "reused_identifier":
                # someone else's record carrying this person's identifier: must never link to them
                other = rng.choice(self.index)
                if other.family_name == p.family_name or not (p.upn or p.nhs_number):
                    return self._query(q, "none", p)
                upn, nhs = (p.upn, None) if p.upn else (None, p.nhs_number)
                row = replace(other, id=f"q{q}", upn=upn, nhs_number=nhs, truth=other.id, error=kind)
            case "new_person":
                self.serial += 1
                family = self.fake.last_name()
                born = date(2006, 1, 1) + timedelta(days=rng.randrange(365 * 20))
                row = Row(f"q{q}", self.fake.first_name(), family, born, self._postcode(), None, None, None, kind)
            case "twin_not_in_index":
                twin_given = self.fake.first_name()
                if normalise_name(twin_given) == normalise_name(p.given_name):
                    twin_given = typo(twin_given, rng) + "a"
                row = replace(p, id=f"q{q}", given_name=twin_given, nhs_number=None, upn=None, truth=None, error=kind)
        return row


def _one_part(dob: date, rng: random.Random) -> date:
    part = rng.choice(("year", "month", "day"))
    for _ in range(10):
        try:
            if part == "year":
                return dob.replace(year=dob.year + rng.choice((-1, 1)))
            if part == "month":
                return dob.replace(month=rng.choice([m for m in range(1, 13) if m != dob.month]))
            return dob.replace(day=rng.choice([d for d in range(1, 29) if d != dob.day]))
        except ValueError:
            continue
    return dob + timedelta(days=1)


def write_csv(path: Path, rows: list[Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(Row.__dataclass_fields__))
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
