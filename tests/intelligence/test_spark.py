"""The same linkage on DuckDB and on a local Spark (`local[2]`, pyspark from the lock file's `spark` extra, Java
on the machine) gives the same people. Marked `spark`: excluded from `make test`, run by `make test-spark`."""

from __future__ import annotations

import duckdb
import pytest

from intelligence.linkage.engine import link_records

pytestmark = pytest.mark.spark

ROWS = [
    (1, "grace", "okafor", "1988-04-12", "LS7 3AB", "9400010001", None),
    (2, "grace", "okafor", "1988-04-12", "LS7 3AB", None, None),
    (3, "grace", "okafr", "1988-04-12", "LS7 3AB", None, None),
    (4, "daniel", "okafor", "2013-09-03", "LS7 3AB", "9400010028", "J383000000010"),
    (5, "daniel", "okafor", "2013-09-03", "LS7 3AB", None, "J383000000010"),
    (6, "ruth", "okafor", "2013-09-03", "LS7 3AB", "9400010036", None),  # Daniel's twin
    (7, "aisha", "hussain", "2012-02-11", "LS11 5QR", "9400020015", "K383000000030"),
    (8, "aisha", "husain", "2012-02-11", "LS11 5QR", None, None),
    (9, "tom", "smith", "2014-06-30", "LS1 4AP", None, None),
]


def _records() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE records (unique_id BIGINT, given_name VARCHAR, family_name VARCHAR, date_of_birth DATE,"
        " postcode VARCHAR, nhs_number VARCHAR, upn VARCHAR)"
    )
    connection.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
    return connection


def _people(clusters: dict[int, int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for record, person in clusters.items():
        groups.setdefault(person, set()).add(record)
    return {frozenset(g) for g in groups.values()}


def test_duckdb_and_spark_link_the_same_people() -> None:
    on_duckdb = link_records(_records(), threshold=0.95)
    on_spark = link_records(_records(), threshold=0.95, engine="spark", spark_master="local[2]")
    expected = {frozenset({1, 2, 3}), frozenset({4, 5}), frozenset({6}), frozenset({7, 8}), frozenset({9})}
    assert _people(on_duckdb.clusters) == expected
    assert _people(on_spark.clusters) == expected
    assert on_spark.pairs_linked == on_duckdb.pairs_linked
