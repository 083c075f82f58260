"""Training of the person-matching model (offline): m and u probabilities with splink on DuckDB.

    python -m cases.people.train --csv people.csv [--out cases/people/data/match_model.json]

The CSV holds the council's records of people (the person index and the people named by referrals): columns `id`,
`given_name`, `family_name`, `date_of_birth` (ISO), `postcode`, `nhs_number`, `upn`. The names are normalised and
the short forms resolved here exactly as the online match does (`cases.people.matching`), then splink estimates
u by random sampling and m by expectation maximisation in blocked passes (on the NHS number and on the UPN,
which train the names, date of birth and postcode; on the given and family names, which trains the date of
birth, the postcode and the identifiers). The comparison levels are
`COMPARISONS` below, the SQL twins of the Python comparisons in `cases.people.model`. The output, read by the
online match, holds the prior, each level's m and u, and the names' term frequencies.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cases.people.matching import canonical_given, compact
from cases.people.model import FUZZY, FUZZY_HIGH, MODEL_FILE

TF_NAMES = 4000
"""Term frequencies are kept for this many of the commonest names of each kind; rarer names use the floor."""
M_FLOOR, U_FLOOR = 1e-3, 1e-9
"""A level never seen among matches (or non-matches) keeps a small finite weight."""


def _null(column: str) -> dict[str, Any]:
    return {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "label_for_charts": "missing",
            "is_null_level": True}  # fmt: skip


def _level(label: str, sql: str) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label}


def _name(column: str, *, short_form: bool) -> dict[str, Any]:
    levels = [_null(column), _level("exact", f"{column}_l = {column}_r")]
    if short_form:
        levels.append(_level("short_form", "given_canon_l = given_canon_r"))
    levels += [
        _level("fuzzy_high", f"jaro_winkler_similarity({column}_l, {column}_r) >= {FUZZY_HIGH}"),
        _level("fuzzy", f"jaro_winkler_similarity({column}_l, {column}_r) >= {FUZZY}"),
        _level("different", "ELSE"),
    ]
    return {"output_column_name": column, "comparison_levels": levels}


COMPARISONS: list[dict[str, Any]] = [
    _name("given_name", short_form=True),
    _name("family_name", short_form=False),
    {
        "output_column_name": "date_of_birth",
        "comparison_levels": [
            _null("date_of_birth"),
            _level("exact", "date_of_birth_l = date_of_birth_r"),
            _level("transposed", "dob_y_l = dob_y_r AND dob_m_l = dob_d_r AND dob_d_l = dob_m_r"),
            _level(
                "one_part",
                "CAST(dob_y_l = dob_y_r AS INT) + CAST(dob_m_l = dob_m_r AS INT) + CAST(dob_d_l = dob_d_r AS INT) = 2",
            ),
            _level("different", "ELSE"),
        ],
    },
    {
        "output_column_name": "postcode",
        "comparison_levels": [
            _null("postcode"),
            _level("full", "postcode_l = postcode_r"),
            _level("district", "district_l = district_r"),
            _level("different", "ELSE"),
        ],
    },
    *(
        {
            "output_column_name": column,
            "comparison_levels": [
                _null(column),
                _level("agree", f"{column}_l = {column}_r"),
                _level("disagree", "ELSE"),
            ],
        }
        for column in ("nhs_number", "upn")
    ),
]


def prepare(row: dict[str, str]) -> dict[str, Any]:
    """One record as the model compares it (the normalisation of `cases.people.model`)."""
    dob = date.fromisoformat(row["date_of_birth"]) if row.get("date_of_birth") else None
    postcode = (row.get("postcode") or "").replace(" ", "").upper() or None
    return {
        "unique_id": row["id"],
        "given_name": compact(row["given_name"]) or None,
        "given_canon": canonical_given(row["given_name"]) or None,
        "family_name": compact(row["family_name"]) or None,
        "date_of_birth": dob,
        "dob_y": dob.year if dob else None,
        "dob_m": dob.month if dob else None,
        "dob_d": dob.day if dob else None,
        "postcode": postcode,
        "district": (row.get("postcode") or "").strip().upper().split(" ")[0] or None,
        "nhs_number": row.get("nhs_number") or None,
        "upn": row.get("upn") or None,
    }


def read_records(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [prepare(row) for row in csv.DictReader(handle)]


def term_frequencies(records: list[dict[str, Any]], column: str) -> tuple[dict[str, float], float]:
    counts = Counter(r[column] for r in records if r[column])
    total = sum(counts.values()) or 1
    common = dict(counts.most_common(TF_NAMES))
    floor = (min(common.values()) if common else 1) / total
    return {name: round(n / total, 8) for name, n in common.items()}, floor


def train(records: list[dict[str, Any]], *, max_pairs: float, seed: int) -> dict[str, Any]:
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, block_on
    from splink.internals.exceptions import EMTrainingException

    db = DuckDBAPI()
    table = db.register(pa.Table.from_pylist(records), table_name="people_records")
    settings = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": COMPARISONS,
        "blocking_rules_to_generate_predictions": [block_on("date_of_birth"), block_on("postcode", "family_name")],
        "retain_intermediate_calculation_columns": False,
    }
    linker = Linker(table, settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    # Pairs sharing an identifier are mostly the same person: they train the names, the date of birth and the
    # postcode. (A pass blocked on the date of birth would take twins and siblings for matches and teach the model
    # that a different given name is weak evidence.)
    for rule in ("nhs_number", "upn"):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(rule), estimate_without_term_frequencies=True
            )
        except EMTrainingException as exc:  # e.g. a council's data without UPNs: the other passes train the rest
            print(f"skipped the EM pass blocked on {rule}: {str(exc).splitlines()[0]}", file=sys.stderr)
    # Pairs with the same names train the date of birth, the postcode and the identifiers (twins, who share a
    # surname, a birth date and an address, are not in this block, so they cannot pass for one person).
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "family_name"), estimate_without_term_frequencies=True
    )
    return linker.misc.save_model_to_json()


def parameters(model: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The online model's parameters from splink's model (m and u of every non-null level)."""
    comparisons: dict[str, Any] = {}
    for comparison in model["comparisons"]:
        levels = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            # a level never seen among matches (or non-matches) keeps a small finite weight, not an infinite one
            m = max(level.get("m_probability") or 0.0, M_FLOOR)
            u = max(level.get("u_probability") or 0.0, U_FLOOR)
            levels.append({"level": level["label_for_charts"], "m": round(m, 8), "u": round(u, 10)})
        comparisons[comparison["output_column_name"]] = {"levels": levels}
    untrained = [c["output_column_name"] for c in COMPARISONS if c["output_column_name"] not in comparisons]
    for name in untrained:  # a field the data never holds: the other identifier's levels, or no evidence at all
        twin = {"nhs_number": "upn", "upn": "nhs_number"}.get(name)
        if twin in comparisons:
            comparisons[name] = comparisons[twin]
        else:
            labels = [lv["label_for_charts"] for c in COMPARISONS if c["output_column_name"] == name
                      for lv in c["comparison_levels"] if not lv.get("is_null_level")]  # fmt: skip
            comparisons[name] = {"levels": [{"level": label, "m": 0.5, "u": 0.5} for label in labels]}
    lam = model["probability_two_random_records_match"]
    given_tf, given_floor = term_frequencies(records, "given_name")
    family_tf, family_floor = term_frequencies(records, "family_name")
    return {
        "trained": {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "records": len(records),
            "untrained": untrained,
            "method": "splink (DuckDB): u by random sampling, m by EM blocked on NHS number, on UPN, and on "
            "given with family name",
        },
        "probability_two_random_records_match": lam,
        "prior_weight": round(math.log2(lam / (1 - lam)), 4),
        "comparisons": comparisons,
        "term_frequencies": {"given_name": given_tf, "family_name": family_tf},
        "term_frequency_floor": {"given_name": given_floor, "family_name": family_floor},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, required=True, help="records of people (see above)")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--max-pairs", type=float, default=5e6)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    records = read_records(args.csv)
    model = train(records, max_pairs=args.max_pairs, seed=args.seed)
    args.out.write_text(json.dumps(parameters(model, records), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"trained on {len(records):,} records; parameters written to {args.out}")


if __name__ == "__main__":
    main()
