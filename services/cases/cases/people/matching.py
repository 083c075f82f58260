"""Person matching: name normalisation, short forms of given names, and blocking keys.

Blocking keys are stored on each person (`given_key`, `family_key`) and indexed with the date of birth and the
postcode, so that a match reads only people who share a date of birth (or its day-month transposition), or a
postcode and a phonetic name key, or an identifier. The candidates are then scored by the calibrated model in
`cases.people.model`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import jellyfish

NICKNAMES_FILE = Path(__file__).resolve().parent / "data" / "nicknames.csv"
_NON_LETTERS = re.compile(r"[^a-z ]+")
_SEPARATORS = re.compile("[-\u2010\u2011'\u2019.\\s]+")


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> str:
    """Lower case ASCII letters, accents removed, hyphens/apostrophes/dots as single spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    spaced = _SEPARATORS.sub(" ", ascii_only.lower())
    return " ".join(_NON_LETTERS.sub("", spaced).split())


@lru_cache(maxsize=200_000)
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


def canonical_given(name: str) -> str:
    """The first given name, as the canonical form of its short-form group (Bill -> william) when it has one."""
    first = (normalise_name(name).split() or [""])[0]
    canonicals = _nickname_groups().get(first)
    return min(canonicals) if canonicals else first


def same_given_name(a: str, b: str) -> bool:
    """True when two normalised given names are a known name and its short form (Bill, William)."""
    if a == b:
        return True
    groups = _nickname_groups()
    first_a, first_b = (a.split() or [""])[0], (b.split() or [""])[0]
    ca = groups.get(first_a, frozenset()) | ({first_a} if first_a in groups else frozenset())
    cb = groups.get(first_b, frozenset()) | ({first_b} if first_b in groups else frozenset())
    return bool(ca & cb)


def blocking_keys(given_name: str, family_name: str) -> list[str]:
    """The phonetic keys a query is looked up by (both names, so that swapped names are still found)."""
    return sorted({k for k in (name_key(given_name), name_key(family_name)) if k})
