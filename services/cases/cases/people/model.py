"""The calibrated person-matching model (Fellegi-Sunter): agreement levels per field, their trained m and u
probabilities, term-frequency adjustment for names, the match weight, and the three outcomes.

The parameters come from `cases.people.train` (splink on DuckDB, run offline on the council's data) and are read
from `data/match_model.json`. Every comparison here is the Python twin of the SQL comparison the training uses
(`train.COMPARISONS`), so that the online match scores exactly the levels the model was trained on.

The weight of a level is log2(m / u). For an exact name, u is replaced by the name's own frequency in the index
(term-frequency adjustment), so that "Smith" or "Mohammed" weigh less than a rare name. The match weight is the
prior log2(λ / (1 - λ)) plus the weights of every field; the match probability is 2^w / (1 + 2^w).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz.distance import JaroWinkler

from cases.people.matching import compact, normalise_name, same_given_name

MODEL_FILE = Path(__file__).resolve().parent / "data" / "match_model.json"
FIELDS = ("given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "upn")
FUZZY_HIGH, FUZZY = 0.92, 0.80
NAME_AGREE = {"exact", "short_form"}
DESCRIPTIONS = {
    "exact": "the same",
    "short_form": "a known short form of the same name",
    "fuzzy_high": "spelt almost the same (Jaro-Winkler >= 0.92)",
    "fuzzy": "spelt similarly (Jaro-Winkler >= 0.80)",
    "different": "different",
    "transposed": "the same with day and month transposed",
    "one_part": "different in one of day, month or year",
    "full": "the same",
    "district": "in the same postcode district",
    "agree": "the same",
    "disagree": "different",
    "missing": "missing on one side (no evidence either way)",
}


@dataclass(frozen=True)
class Record:
    """One side of a comparison: a match request or a person of the index."""

    given_name: str
    family_name: str
    date_of_birth: date | None
    postcode: str | None
    nhs_number: str | None = None
    upn: str | None = None


@dataclass(frozen=True)
class FieldWeight:
    field: str
    level: str
    weight: float
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "level": self.level, "weight": self.weight, "explanation": self.explanation}


@dataclass(frozen=True)
class Comparison:
    weight: float
    probability: float
    fields: list[FieldWeight]
    names_swapped: bool
    conflict: str | None = None
    levels: dict[str, str] = field(default_factory=dict)

    @property
    def auto_linkable(self) -> bool:
        """Only a comparison whose names agree (or are a known short form) and whose date of birth is the same may
        link without a person looking: spelling differences, swapped names and changed dates go to review."""
        return (
            self.conflict is None
            and not self.names_swapped
            and self.levels.get("given_name") in NAME_AGREE
            and self.levels.get("family_name") in NAME_AGREE
            and self.levels.get("date_of_birth") == "exact"
        )

    @property
    def reasons(self) -> list[str]:
        out = ["given and family names swapped"] if self.names_swapped else []
        out += [f"{f.field.replace('_', ' ')} {f.explanation} ({f.weight:+.1f})" for f in self.fields]
        if self.conflict:
            out.insert(0, self.conflict)
        return out


# --- agreement levels (the Python twins of train.COMPARISONS) ------------------------------------------------


def _jw(a: str, b: str) -> float:
    return JaroWinkler.similarity(a, b)


def family_level(a: str, b: str) -> str | None:
    ca, cb = compact(a), compact(b)
    if not ca or not cb:
        return None
    if ca == cb:
        return "exact"
    sim = _jw(ca, cb)
    return "fuzzy_high" if sim >= FUZZY_HIGH else "fuzzy" if sim >= FUZZY else "different"


def given_level(a: str, b: str) -> str | None:
    ca, cb = compact(a), compact(b)
    if not ca or not cb:
        return None
    if ca == cb:
        return "exact"
    if same_given_name(normalise_name(a), normalise_name(b)):
        return "short_form"
    sim = _jw(ca, cb)
    return "fuzzy_high" if sim >= FUZZY_HIGH else "fuzzy" if sim >= FUZZY else "different"


def dob_level(a: date | None, b: date | None) -> str | None:
    if a is None or b is None:
        return None
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "transposed"
    if (a.year == b.year) + (a.month == b.month) + (a.day == b.day) == 2:
        return "one_part"
    return "different"


def district(postcode: str) -> str:
    return postcode.strip().upper().split(" ")[0]


def postcode_level(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return None
    if a.replace(" ", "").upper() == b.replace(" ", "").upper():
        return "full"
    return "district" if district(a) == district(b) else "different"


def identifier_level(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return None
    return "agree" if a.replace(" ", "") == b.replace(" ", "") else "disagree"


# --- the model ------------------------------------------------------------------------------------------------


class MatchModel:
    """Trained parameters and the scoring of one pair of records."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters
        self.prior = float(parameters["prior_weight"])
        self.levels: dict[str, dict[str, tuple[float, float]]] = {
            name: {lv["level"]: (float(lv["m"]), float(lv["u"])) for lv in comparison["levels"]}
            for name, comparison in parameters["comparisons"].items()
        }
        self.tf: dict[str, dict[str, float]] = parameters.get("term_frequencies", {})
        self.tf_floor: dict[str, float] = parameters.get("term_frequency_floor", {})
        self.rounded: dict[str, dict[str, float]] = {
            name: {level: round(math.log2(m / u), 2) for level, (m, u) in levels.items()}
            for name, levels in self.levels.items()
        }
        """Each level's weight as a comparison shows it (rounded to 2 decimals), looked up by `Screen`."""

    def level_weight(self, name: str, level: str) -> float:
        m, u = self.levels[name][level]
        return math.log2(m / u)

    def _name_share(self, name: str, value: str) -> float:
        """The share of the index holding this name (term frequency), for the weight of an exact agreement."""
        tf = self.tf[name].get(compact(value), self.tf_floor.get(name, self.levels[name]["exact"][1]))
        return max(tf, self.tf_floor.get(name, 0.0))

    def name_weight(self, name: str, level: str | None, value: str) -> float:
        """The rounded weight `compare` gives a name at `level` (`value` is the query's name compared)."""
        if level is None:
            return 0.0
        if level == "exact" and name in self.tf:
            return round(math.log2(self.levels[name]["exact"][0] / self._name_share(name, value)), 2)
        return self.rounded[name][level]

    def _name_weight(self, name: str, level: str | None, value: str) -> FieldWeight:
        if level is None:
            return FieldWeight(name, "missing", 0.0, DESCRIPTIONS["missing"])
        explanation = DESCRIPTIONS[level]
        if level == "exact" and name in self.tf:
            explanation = f"the same ({_frequency(self._name_share(name, value))} in the index)"
        return FieldWeight(name, level, self.name_weight(name, level, value), explanation)

    def _field(self, name: str, level: str | None) -> FieldWeight:
        if level is None:
            return FieldWeight(name, "missing", 0.0, DESCRIPTIONS["missing"])
        return FieldWeight(name, level, self.rounded[name][level], DESCRIPTIONS[level])

    def compare(self, query: Record, person: Record) -> Comparison:
        straight = self._names(query.given_name, query.family_name, person)
        swapped = self._names(query.family_name, query.given_name, person)
        names_swapped = (
            sum(f.weight for f in swapped) > sum(f.weight for f in straight) + 1.0
            and all(f.level not in ("different", "missing") for f in swapped)
            and normalise_name(query.given_name) != normalise_name(query.family_name)
        )
        names = swapped if names_swapped else straight
        fields = [
            *names,
            self._field("date_of_birth", dob_level(query.date_of_birth, person.date_of_birth)),
            self._field("postcode", postcode_level(query.postcode, person.postcode)),
            self._field("nhs_number", identifier_level(query.nhs_number, person.nhs_number)),
            self._field("upn", identifier_level(query.upn, person.upn)),
        ]
        levels = {f.field: f.level for f in fields}
        weight = self.prior + sum(f.weight for f in fields)
        return Comparison(
            weight=round(weight, 2),
            probability=_probability(weight),
            fields=fields,
            names_swapped=names_swapped,
            conflict=_conflict(levels),
            levels=levels,
        )

    def _names(self, given: str, family: str, person: Record) -> list[FieldWeight]:
        return [
            self._name_weight("given_name", given_level(given, person.given_name), given),
            self._name_weight("family_name", family_level(family, person.family_name), family),
        ]


def _conflict(levels: dict[str, str]) -> str | None:
    """An identifier that agrees while the date of birth and a name disagree: a typo or a reused number."""
    identifiers = [name for name in ("nhs_number", "upn") if levels.get(name) == "agree"]
    if not identifiers:
        return None
    names_disagree = levels.get("given_name") == "different" or levels.get("family_name") == "different"
    if levels.get("date_of_birth") == "different" and names_disagree:
        which = " and ".join(i.replace("_", " ").replace("nhs", "NHS").replace("upn", "UPN") for i in identifiers)
        return f"conflict: the {which} agrees but the date of birth and name disagree (a typo or a reused number)"
    return None


def _probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    odds: float = math.pow(2.0, weight)
    return odds / (1 + odds)


def _frequency(share: float) -> str:
    return f"1 in {round(1 / share):,}" if share > 0 else "rare"


def weight_at(probability: float) -> float:
    """The match weight whose probability is `probability` (the inverse of the probability of a weight)."""
    return math.log2(probability / (1 - probability))


class Screen:
    """A cheap upper bound of the weight `compare` would give a query against a person, to skip comparing people
    who could be neither shown nor linked.

    At national scale a date of birth alone blocks 300 to 600 people (10,000,000 in the index), nearly all of
    them strangers; `compare` builds every field's explanation for both orders of the names, the screen only
    adds the rounded weights of the levels (the same functions and figures), taking for the names the larger
    of the straight and the swapped order (`compare` uses one of the two). So the bound is never below the
    weight `compare` gives. `outcome` depends only on the comparisons at or above the lower of the two
    thresholds or in conflict — and a conflict needs an agreeing identifier, which the screen always passes.
    """

    MARGIN = 0.01
    """Room for the order in which floating-point weights are added."""

    def __init__(self, trained: MatchModel, query: Record, thresholds: Thresholds) -> None:
        self.model = trained
        self.query = query
        self.floor = weight_at(min(thresholds.link, thresholds.review)) - self.MARGIN
        # Weights by the person's value, for this query: a block holds few distinct names and dates.
        self._given: dict[str, tuple[float, float]] = {}
        self._family: dict[str, tuple[float, float]] = {}
        self._born: dict[date | None, float] = {}

    def may_matter(self, person: Record) -> bool:
        """False only when the person's comparison is certain to be below both thresholds and not a conflict."""
        q, w = self.query, self.model.rounded
        nhs, upn = identifier_level(q.nhs_number, person.nhs_number), identifier_level(q.upn, person.upn)
        if nhs == "agree" or upn == "agree":
            return True
        given = self._given.get(person.given_name)
        if given is None:
            given = self._given[person.given_name] = self._given_weights(person.given_name)
        family = self._family.get(person.family_name)
        if family is None:
            family = self._family[person.family_name] = self._family_weights(person.family_name)
        born = self._born.get(person.date_of_birth)
        if born is None:
            level = dob_level(q.date_of_birth, person.date_of_birth)
            born = self._born[person.date_of_birth] = w["date_of_birth"][level] if level is not None else 0.0
        postcode = postcode_level(q.postcode, person.postcode)
        bound = self.model.prior + born + max(given[0] + family[0], given[1] + family[1])
        bound += w["postcode"][postcode] if postcode is not None else 0.0
        bound += w["nhs_number"][nhs] if nhs is not None else 0.0
        bound += w["upn"][upn] if upn is not None else 0.0
        return bound >= self.floor

    def _given_weights(self, name: str) -> tuple[float, float]:
        """The weight of the person's given name against the query's given name, and against its family name
        (the names swapped)."""
        q, weigh = self.query, self.model.name_weight
        return (
            weigh("given_name", given_level(q.given_name, name), q.given_name),
            weigh("given_name", given_level(q.family_name, name), q.family_name),
        )

    def _family_weights(self, name: str) -> tuple[float, float]:
        q, weigh = self.query, self.model.name_weight
        return (
            weigh("family_name", family_level(q.family_name, name), q.family_name),
            weigh("family_name", family_level(q.given_name, name), q.given_name),
        )


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_FILE)) -> MatchModel:
    return MatchModel(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Thresholds:
    link: float
    """At or above this match probability (and auto-linkable), a person links without review."""
    review: float
    """At or above this (and below `link`), the person goes to review with ranked candidates."""


def outcome(comparisons: list[Comparison], thresholds: Thresholds) -> tuple[str, list[int]]:
    """`link` (one index), `review` (indexes of the candidates to show, best first) or `new` (none)."""
    order = sorted(range(len(comparisons)), key=lambda i: -comparisons[i].weight)
    linkable = [i for i in order if comparisons[i].probability >= thresholds.link and comparisons[i].auto_linkable]
    shown = [i for i in order if comparisons[i].probability >= thresholds.review or comparisons[i].conflict]
    if len(linkable) == 1 and not any(comparisons[i].conflict for i in shown):
        return "link", linkable + [i for i in shown if i not in linkable]
    if shown:
        return "review", shown
    return "new", []
