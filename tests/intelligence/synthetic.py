"""Partner datasets for a handful of made-up households, each showing the needs a test asks for (Supporting
Families 2022 codes): a parent and a child at one address, consistent identifiers across every dataset, so that
linkage puts each household together and nothing else."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from shared.identifiers import with_nhs_check_digit

PERSON = ["record_id", "given_name", "family_name", "date_of_birth", "postcode", "address_line", "uprn",
          "nhs_number", "upn"]  # fmt: skip
OWN = {
    "school_census": ["school_urn", "term_end", "attendance_percent", "suspensions", "permanently_excluded"],
    "police_incident": ["incident_date", "incident_type", "role"],
    "worklessness": ["benefit", "since"],
    "housing": ["status", "status_date"],
}
SURNAMES = ["Ashworth", "Brennan", "Chaudhry", "Dlamini", "Eriksen", "Fairbanks", "Gallagher", "Hussain",
            "Iwobi", "Jablonski", "Kowalczyk", "Lindqvist", "Mbeki", "Nakamura", "O'Rourke", "Pemberton",
            "Quarshie", "Rasmussen", "Szabo", "Thistlewood", "Umarov", "Vasquez", "Whitcombe", "Xiong",
            "Yilmaz", "Zielinski", "Abernethy", "Bhattacharya", "Castellano", "Drummond"]  # fmt: skip
PARENTS = ["Alison", "Bernard", "Chloe", "Dmitri", "Esther", "Fergus", "Gemma", "Hamza", "Ingrid", "Jerome"]
CHILDREN = ["Amelia", "Bilal", "Clara", "Declan", "Elif", "Finlay", "Greta", "Harvey", "Isla", "Jonah"]


@dataclass(frozen=True)
class Household:
    number: int
    """Unique across every household of a test: names, addresses and identifiers derive from it."""
    postcode: str
    needs: frozenset[str]
    """Of education, domestic_abuse, financial_stability, housing."""


def _nhs(n: int) -> str:
    for body in range(400000000 + n * 10, 400000000 + n * 10 + 10):
        if number := with_nhs_check_digit(str(body)):
            return number
    raise AssertionError(n)


def _people(h: Household) -> tuple[list[str], list[str]]:
    n = h.number
    surname = SURNAMES[n % 30] + (f"-{SURNAMES[(n // 30 + 7) % 30]}" if n >= 30 else "")
    address = f"{h.number + 1} Synthetic Street"
    uprn = str(73000000 + h.number)
    parent_dob = date(1980, 1, 1) + timedelta(days=37 * h.number)
    child_dob = date(2013, 1, 1) + timedelta(days=29 * h.number)
    common = [h.postcode, address, uprn]
    parent = [PARENTS[h.number % 10], surname, parent_dob.isoformat(), *common, _nhs(2 * h.number), ""]
    child = [CHILDREN[h.number % 10], surname, child_dob.isoformat(), *common, _nhs(2 * h.number + 1), ""]
    return parent, child


def datasets(households: list[Household], *, prefix: str = "SYN") -> dict[str, bytes]:
    """kind → CSV bytes for every kind some household needs (records numbered after each household)."""
    rows: dict[str, list[list[str]]] = {kind: [] for kind in OWN}
    for h in households:
        parent, child = _people(h)
        rid = f"{prefix}-{h.number}"
        if "education" in h.needs:
            rows["school_census"].append([f"{rid}-S", *child, "107001", "2026-07-22", "81.0", "0", "false"])
        if "domestic_abuse" in h.needs:
            rows["police_incident"].append([f"{rid}-P", *parent, "2026-09-01", "domestic_abuse", "victim"])
        if "financial_stability" in h.needs:
            rows["worklessness"].append([f"{rid}-W", *parent, "out_of_work", "2025-11-01"])
        if "housing" in h.needs:
            rows["housing"].append([f"{rid}-H", *parent, "homeless", "2026-08-15"])
    out: dict[str, bytes] = {}
    for kind, lines in rows.items():
        if lines:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow([*PERSON, *OWN[kind]])
            writer.writerows(lines)
            out[kind] = buffer.getvalue().encode()
    return out


def households(start: int, count: int, postcode: str, *needs: str) -> list[Household]:
    return [Household(start + i, postcode, frozenset(needs)) for i in range(count)]
