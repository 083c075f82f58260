"""Person matching: name normalisation, blocking keys and candidate scoring.

Blocking keys are stored on each person (`given_key`, `family_key`) and indexed with the date of birth and the
postcode, so that a match reads only people who share a date of birth, or a postcode and a phonetic name key.
Scoring then compares names (case, accents, hyphens, common nicknames, swapped given/family names, misspelt
surnames), the date of birth and the postcode, and explains every point it gives.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import jellyfish
from rapidfuzz.distance import JaroWinkler

NICKNAMES_FILE = Path(__file__).resolve().parent / "data" / "nicknames.csv"
_NON_LETTERS = re.compile(r"[^a-z ]+")
_SEPARATORS = re.compile("[-\u2010\u2011'\u2019.\\s]+")

NAME_WEIGHT, DOB_WEIGHT, POSTCODE_WEIGHT = 0.6, 0.3, 0.1
FAMILY_SHARE, GIVEN_SHARE = 0.55, 0.45
MIN_NAME_SCORE, MIN_SCORE = 0.7, 0.6


def normalise_name(name: str) -> str:
    """Lower case ASCII letters, accents removed, hyphens/apostrophes/dots as single spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    spaced = _SEPARATORS.sub(" ", ascii_only.lower())
    return " ".join(_NON_LETTERS.sub("", spaced).split())


def compact(name: str) -> str:
    return normalise_name(name).replace(" ", "")


def name_key(name: str) -> str:
    """The phonetic blocking key of a name (Metaphone of its normalised, compacted form)."""
    squeezed = compact(name)
    return jellyfish.metaphone(squeezed) if squeezed else ""


@lru_cache(maxsize=1)
def _nickname_groups() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    with NICKNAMES_FILE.open(encoding="utf-8") as handle:
        for row in csv.reader(line for line in handle if not line.startswith("#")):
            names = [normalise_name(n) for n in row if n.strip()]
            if not names:
                continue
            canonical = names[0]
            for name in names:
                groups.setdefault(name, set()).add(canonical)
    return {name: frozenset(canonicals) for name, canonicals in groups.items()}


def same_given_name(a: str, b: str) -> bool:
    """True when two normalised given names are a known name and its short form (Bill, William)."""
    if a == b:
        return True
    groups = _nickname_groups()
    first_a, first_b = (a.split() or [""])[0], (b.split() or [""])[0]
    ca = groups.get(first_a, frozenset()) | ({first_a} if first_a in groups else frozenset())
    cb = groups.get(first_b, frozenset()) | ({first_b} if first_b in groups else frozenset())
    return bool(ca & cb)


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    whole = JaroWinkler.similarity(a.replace(" ", ""), b.replace(" ", ""))
    # a double-barrelled name matches either of its parts well (Smith-Jones ~ Smith)
    parts = max(
        (JaroWinkler.similarity(x, y) * 0.92 for x in a.split() for y in b.split()),
        default=0.0,
    )
    return max(whole, parts)


@dataclass(frozen=True)
class MatchQuery:
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str | None


@dataclass(frozen=True)
class IndexedPerson:
    given_name: str
    family_name: str
    date_of_birth: date | None
    postcode: str | None


@dataclass(frozen=True)
class Score:
    value: float
    name_value: float
    reasons: list[str]

    @property
    def is_candidate(self) -> bool:
        """Worth showing to triage: the names are close and the whole is more than a coincidence."""
        return self.name_value >= MIN_NAME_SCORE and self.value >= MIN_SCORE


def _name_part(query_given: str, query_family: str, given: str, family: str) -> tuple[float, list[str]]:
    reasons: list[str] = []
    family_sim = _similarity(query_family, family)
    if family_sim == 1.0:
        reasons.append("surname matches")
    elif family_sim > 0:
        reasons.append(f"surname similar ({family_sim:.2f})")
    if same_given_name(query_given, given):
        given_sim = 1.0
        if query_given.split()[:1] == given.split()[:1]:
            reasons.append("given name matches")
        else:
            reasons.append("given name is a known short form")
    else:
        given_sim = _similarity(query_given, given)
        reasons.append(f"given name similar ({given_sim:.2f})")
    return FAMILY_SHARE * family_sim + GIVEN_SHARE * given_sim, reasons


def _dob_part(query: date, dob: date | None) -> tuple[float, str | None]:
    if dob is None:
        return 0.0, None
    if query == dob:
        return 1.0, "date of birth matches"
    if query.year == dob.year and query.month == dob.day and query.day == dob.month:
        return 0.8, "date of birth matches with day and month transposed"
    same_parts = sum((query.year == dob.year, query.month == dob.month, query.day == dob.day))
    if same_parts == 2:
        return 0.5, "date of birth differs in one part"
    return 0.0, None


def _district(postcode: str) -> str:
    return postcode.split(" ")[0]


def _postcode_part(query: str | None, postcode: str | None) -> tuple[float, str | None]:
    if not query or not postcode:
        return 0.0, None
    if query == postcode:
        return 1.0, "postcode matches"
    if _district(query) == _district(postcode):
        return 0.5, f"same postcode district ({_district(query)})"
    return 0.0, None


def score(query: MatchQuery, person: IndexedPerson) -> Score:
    """Score one candidate in [0, 1], with the reasons for each part of the score."""
    qg, qf = normalise_name(query.given_name), normalise_name(query.family_name)
    pg, pf = normalise_name(person.given_name), normalise_name(person.family_name)
    straight, straight_reasons = _name_part(qg, qf, pg, pf)
    swapped, swapped_reasons = _name_part(qf, qg, pg, pf)
    if swapped > straight + 0.05:
        name_value, reasons = swapped, ["given and family names swapped", *swapped_reasons]
    else:
        name_value, reasons = straight, straight_reasons
    dob_value, dob_reason = _dob_part(query.date_of_birth, person.date_of_birth)
    pc_value, pc_reason = _postcode_part(query.postcode, person.postcode)
    reasons += [r for r in (dob_reason, pc_reason) if r]
    total = NAME_WEIGHT * name_value + DOB_WEIGHT * dob_value + POSTCODE_WEIGHT * pc_value
    return Score(round(min(total, 1.0), 3), round(name_value, 3), reasons)


def blocking_keys(given_name: str, family_name: str) -> list[str]:
    """The phonetic keys a query is looked up by (both names, so that swapped names are still found)."""
    return sorted({k for k in (name_key(given_name), name_key(family_name)) if k})
