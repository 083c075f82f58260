"""Households from linked people: people who share a UPRN or a normalised address, or who were in one domestic
abuse incident together, live in one household; each member carries the reason they are in it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_ABBREVIATIONS = {"rd": "road", "st": "street", "ave": "avenue", "ln": "lane", "cl": "close", "dr": "drive",
                  "cres": "crescent", "ct": "court", "gdns": "gardens", "pl": "place", "sq": "square"}  # fmt: skip


def address_key(address_line: str | None, postcode: str | None) -> str | None:
    """`12 Elm Rd.` + `LS7 3AB` → `12 elm road|LS7 3AB` (None without both)."""
    if not address_line or not postcode:
        return None
    words = re.sub(r"[^a-z0-9 ]", " ", address_line.lower()).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words) + "|" + postcode


@dataclass
class Record:
    pk: int
    kind: str
    source_agency: str
    record_id: str
    person: int
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    postcode: str | None
    address_line: str | None
    uprn: str | None
    event_date: date | None
    attributes: dict[str, Any]
    nhs_number: str | None = None
    upn: str | None = None


@dataclass
class Person:
    key: int
    records: list[Record] = field(default_factory=list)

    @property
    def latest(self) -> Record:
        return max(self.records, key=lambda r: (r.event_date or date.min, r.pk))

    def most_common(self, values: Iterable[str | None]) -> str | None:
        counted = Counter(v for v in values if v)
        if not counted:
            return None
        return max(counted, key=lambda v: (counted[v], v))

    @property
    def address(self) -> str | None:
        return self.most_common(address_key(r.address_line, r.postcode) for r in self.records)

    @property
    def uprn(self) -> str | None:
        return self.most_common(r.uprn for r in self.records)

    @property
    def date_of_birth(self) -> date | None:
        value = self.most_common(r.date_of_birth.isoformat() for r in self.records if r.date_of_birth)
        return date.fromisoformat(value) if value else None

    def summary(self) -> dict[str, Any]:
        latest = self.latest
        named = [r for r in self.records if r.given_name and r.family_name]
        counts = Counter(f"{r.given_name}|{r.family_name}".lower() for r in named)
        # the spelling most agencies use, shown as the agencies that do not shout write it
        name = max(
            named,
            key=lambda r: (counts[f"{r.given_name}|{r.family_name}".lower()], (r.given_name or "").istitle(), -r.pk),
            default=latest,
        )
        dob = self.date_of_birth
        return {
            "person_key": str(self.key),
            "given_name": name.given_name,
            "family_name": name.family_name,
            "date_of_birth": dob.isoformat() if dob else None,
            "nhs_number": self.most_common(r.nhs_number for r in self.records),
            "upn": self.most_common(r.upn for r in self.records),
            "records": sorted(f"{r.kind}:{r.source_agency}:{r.record_id}" for r in self.records),
        }


@dataclass
class Household:
    key: str
    members: dict[int, str]
    """Person key → why they are in this household."""
    postcode: str | None
    address_line: str | None


def households(people: dict[int, Person]) -> list[Household]:
    """Group people: shared UPRN, shared normalised address, one domestic abuse incident (union-find)."""
    parent = {k: k for k in people}
    reason: dict[int, str] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(keys: list[int], why: str) -> None:
        first = keys[0]
        for other in keys[1:]:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
            reason.setdefault(first, why)
            reason.setdefault(other, why)

    by: dict[tuple[str, str], list[int]] = {}
    for key, person in people.items():
        if uprn := person.uprn:
            by.setdefault(("uprn", uprn), []).append(key)
        if address := person.address:
            by.setdefault(("address", address), []).append(key)
        for r in person.records:
            ref = r.attributes.get("incident_reference")
            if r.kind == "police_incident" and r.attributes.get("incident_type") == "domestic_abuse" and ref:
                by.setdefault(("incident", f"{r.source_agency}:{ref}"), []).append(key)
    for (what, value), keys in sorted(by.items()):
        unique = sorted(set(keys))
        if len(unique) < 2:
            continue
        why = {
            "uprn": f"shares UPRN {value}",
            "address": f"shares the address {value.replace('|', ', ')}",
            "incident": f"in domestic abuse incident {value}",
        }[what]
        join(unique, why)
    groups: dict[int, list[int]] = {}
    for key in people:
        groups.setdefault(find(key), []).append(key)
    out = []
    for root, keys in sorted(groups.items()):
        home = people[root].latest
        addressed = [people[k].latest for k in keys if people[k].latest.postcode]
        where = max(addressed, key=lambda r: (bool(r.uprn), r.event_date or date.min)) if addressed else home
        members = {k: reason.get(k, "the only person linked at this address") for k in sorted(keys)}
        out.append(Household(f"hh-{root}", members, where.postcode, where.address_line))
    return out
