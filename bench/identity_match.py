"""Benchmark: precision and recall of calibrated person matching on a labelled synthetic population.

Generates households (`identity_common`, Faker en_GB) and the records partners send about them, with realistic
errors, then decides each record exactly as the cases service does: the same blocks (date of birth or its
transposition, postcode with a phonetic name key, identifiers), the same trained model (`cases.people.model`) and
the same three outcomes. Reports the precision of automatic links, the recall of automatic links plus review, the
share sent to review, conflicts caught, and identifier-only links with conflicting demographics (must be 0), for
the default thresholds and a sweep of others.

    .venv/bin/python bench/identity_match.py [--people 100000] [--queries 20000]
    .venv/bin/python bench/identity_match.py --train   # also retrains data/match_model.json on this population

(Latency at 1,000,000 people through the real service: bench/cases_match.py.)
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from identity_common import Population, Row, write_csv  # noqa: E402

from cases.config import Settings  # noqa: E402
from cases.people import matching  # noqa: E402
from cases.people.model import Comparison, Record, Thresholds, load_model, outcome  # noqa: E402


class Index:
    """The blocks of the person index, as the service's blocking query reads them."""

    def __init__(self, people: list[Row]) -> None:
        self.by_dob: dict[date | None, list[Row]] = defaultdict(list)
        self.by_pc_key: dict[tuple[str | None, str], list[Row]] = defaultdict(list)
        self.by_id: dict[str, list[Row]] = defaultdict(list)
        for p in people:
            self.by_dob[p.date_of_birth].append(p)
            for key in {matching.name_key(p.given_name), matching.name_key(p.family_name)}:
                self.by_pc_key[(p.postcode, key)].append(p)
            for ident in (p.nhs_number, p.upn):
                if ident:
                    self.by_id[ident].append(p)

    def block(self, q: Row) -> list[Row]:
        found: dict[str, Row] = {}
        dobs = [q.date_of_birth]
        if q.date_of_birth and q.date_of_birth.day <= 12:
            with contextlib.suppress(ValueError):
                dobs.append(date(q.date_of_birth.year, q.date_of_birth.day, q.date_of_birth.month))
        for d in dobs:
            for p in self.by_dob.get(d, []):
                found[p.id] = p
        if q.postcode:
            for key in matching.blocking_keys(q.given_name, q.family_name):
                for p in self.by_pc_key.get((q.postcode, key), []):
                    found[p.id] = p
        for ident in (q.nhs_number, q.upn):
            for p in self.by_id.get(ident or "", []):
                found[p.id] = p
        return list(found.values())[:2000]


def record(r: Row) -> Record:
    return Record(r.given_name, r.family_name, r.date_of_birth, r.postcode, r.nhs_number, r.upn)


def evaluate(scored: list[tuple[Row, list[Row], list[Comparison]]], thresholds: Thresholds) -> dict[str, float | int]:
    links = correct_links = in_review = found = with_truth = conflicts = conflicts_caught = 0
    identifier_only_bad_links = 0
    for q, block, comps in scored:
        decision, shown = outcome(comps, thresholds)
        ids = [block[i].id for i in shown]
        if q.truth:
            with_truth += 1
        if q.error == "reused_identifier":
            conflicts += 1
            owner = next((i for i, c in enumerate(comps) if c.conflict), None)
            if owner is not None and not (decision == "link" and block[shown[0]].id != q.truth):
                conflicts_caught += 1
        if decision == "link":
            links += 1
            chosen = comps[shown[0]]
            correct_links += block[shown[0]].id == q.truth
            if chosen.levels.get("date_of_birth") == "different" and (
                chosen.levels.get("given_name") == "different" or chosen.levels.get("family_name") == "different"
            ):
                identifier_only_bad_links += 1
            found += q.truth is not None and block[shown[0]].id == q.truth
        elif decision == "review":
            in_review += 1
            found += q.truth in ids
    total = len(scored)
    return {
        "auto_links": links,
        "precision_auto": correct_links / links if links else 1.0,
        "recall_auto_plus_review": found / with_truth if with_truth else 1.0,
        "recall_auto": sum(1 for q, b, c in scored if _linked(q, b, c, thresholds)) / with_truth,
        "review_share": in_review / total,
        "conflicts": conflicts,
        "conflicts_caught": conflicts_caught,
        "identifier_only_bad_links": identifier_only_bad_links,
    }


def _linked(q: Row, block: list[Row], comps: list[Comparison], thresholds: Thresholds) -> bool:
    decision, shown = outcome(comps, thresholds)
    return decision == "link" and block[shown[0]].id == q.truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--train", action="store_true", help="retrain the checked-in model on this population")
    args = parser.parse_args()
    t0 = time.perf_counter()
    population = Population(args.people)
    queries = population.queries(args.queries)
    print(f"population: {len(population.index):,} people, {len(population.twins):,} twin pairs; "
          f"{len(queries):,} labelled records ({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    print("  errors:", ", ".join(f"{k} {v}" for k, v in sorted(Counter(q.error for q in queries).items())))
    if args.train:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "records.csv"
            write_csv(path, population.index + queries)
            subprocess.run([sys.executable, "-m", "cases.people.train", "--csv", str(path)], check=True)
        load_model.cache_clear()
    model = load_model()
    index = Index(population.index)
    t1 = time.perf_counter()
    scored = []
    for q in queries:
        block = index.block(q)
        scored.append((q, block, [model.compare(record(q), record(p)) for p in block]))
    per_query = (time.perf_counter() - t1) / len(queries) * 1000
    print(f"  blocking and scoring in process: {per_query:.2f} ms per record (mean)")
    settings = Settings()
    default = Thresholds(settings.match_link_threshold, settings.match_review_threshold)
    print(f"\ndefault thresholds: link >= {default.link}, review >= {default.review}")
    for key, value in evaluate(scored, default).items():
        print(f"  {key:<28} {value:.4f}" if isinstance(value, float) else f"  {key:<28} {value}")
    print("\nsweep (link / review): precision_auto, recall_auto, recall_auto_plus_review, review_share")
    for link in (0.99, 0.999, 0.9999):
        for review in (0.01, 0.1, 0.5):
            r = evaluate(scored, Thresholds(link, review))
            print(f"  {link:<7} {review:<5} {r['precision_auto']:.5f} {r['recall_auto']:.4f} "
                  f"{r['recall_auto_plus_review']:.4f} {r['review_share']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
