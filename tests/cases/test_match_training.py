"""The offline training of the matching model (splink on DuckDB) runs on a small labelled population and writes
parameters the online model reads: every level of every field, a prior, and the names' term frequencies."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from cases.people.model import FIELDS, MatchModel, Record
from tests.support.factories import nhs_number_for

GIVEN = ["Olivia", "Amelia", "Isla", "Noah", "Oliver", "George", "Leo", "Harry", "Mohammed", "Aisha", "Priya", "Zoë"]
FAMILY = ["Smith", "Jones", "Taylor", "Brown", "Khan", "Patel", "O'Neill", "Horton", "Quennell", "Okafor", "Nguyen"]


def population(path: Path, people: int = 600) -> None:
    rng = random.Random(7)
    rows = []
    for n in range(people):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        dob = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
        postcode = f"LS{rng.randint(1, 29)} {rng.randint(1, 9)}AB"
        nhs = nhs_number_for(n, base=650_000_000)
        rows.append({"id": f"p{n}", "given_name": given, "family_name": family, "date_of_birth": dob.isoformat(),
                     "postcode": postcode, "nhs_number": nhs, "upn": ""})  # fmt: skip
        if n % 3 == 0:  # a record about the same person, with an error
            typo = family[:-1] + family[-1] * 2 if n % 2 else family
            moved = f"LS{rng.randint(1, 29)} {rng.randint(1, 9)}XY" if n % 5 == 0 else postcode
            rows.append({**rows[-1], "id": f"q{n}", "family_name": typo, "postcode": moved})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_training_writes_parameters_the_online_model_uses(tmp_path: Path) -> None:
    records, out = tmp_path / "people.csv", tmp_path / "model.json"
    population(records)
    subprocess.run(
        [sys.executable, "-m", "cases.people.train", "--csv", str(records), "--out", str(out), "--max-pairs", "2e5"],
        check=True,
        capture_output=True,
    )
    parameters = json.loads(out.read_text())
    assert set(parameters["comparisons"]) == set(FIELDS)
    levels = {f: [lv["level"] for lv in c["levels"]] for f, c in parameters["comparisons"].items()}
    assert levels["date_of_birth"] == ["exact", "transposed", "one_part", "different"]
    assert levels["given_name"] == ["exact", "short_form", "fuzzy_high", "fuzzy", "different"]
    assert all(0 < lv["m"] <= 1 and 0 < lv["u"] <= 1 for c in parameters["comparisons"].values() for lv in c["levels"])
    assert parameters["prior_weight"] < 0
    assert parameters["term_frequencies"]["family_name"]["smith"] > 0

    model = MatchModel(parameters)
    same = model.compare(
        Record("Olivia", "Smith", date(2012, 1, 5), "LS1 1AB"), Record("Olivia", "Smith", date(2012, 1, 5), "LS1 1AB")
    )
    other = model.compare(
        Record("Olivia", "Smith", date(2012, 1, 5), "LS1 1AB"), Record("Noah", "Khan", date(2009, 7, 30), "LS9 2AB")
    )
    assert same.weight > 0 > other.weight
    assert model.level_weight("date_of_birth", "exact") > model.level_weight("date_of_birth", "different")
