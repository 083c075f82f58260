"""Probabilistic linkage of partner records into people with splink (Fellegi-Sunter).

The model: given names (after mapping nicknames to the name they stand for) and family names compared with
Jaro-Winkler levels and term-frequency adjustments (a match on a rare surname says more than one on a common
one), date of birth, postcode (full, sector, district), and the NHS number and UPN where both records carry
one. The proportion of matches is estimated from deterministic rules (same NHS number or UPN), u from random
pairs, and m by expectation maximisation blocked on the NHS number, the UPN and the date of birth (with the
surname's initial) — the pairs
those blocks bring are mostly the same person, so EM learns what a match looks like rather than what a
household looks like (blocking on a postcode would teach it that siblings match).

Candidate pairs come from blocking rules, are scored, and kept when their match probability reaches the
threshold and they do not contradict themselves: two different NHS numbers or UPNs, or given names that
disagree (twins share a birthday, surname and address) without an identifier in common, are never the same
person. People are the connected components of the kept pairs. A file too small to train on is scored with
the latest stored model, else the model shipped with the service (trained on the synthetic population).

The same code runs on DuckDB (embedded, the default) or on Spark (`engine="spark"`): only the database API
differs.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_MODEL = DATA / "default_model.json"
MIN_TRAINING_RECORDS = 2000
"""Fewer records than this are scored with a stored model: EM needs enough pairs to converge."""
PREDICT_BLOCKING = (
    ("nhs_number",),
    ("upn",),
    ("date_of_birth", "substr(family_name, 1, 1)"),
    ("postcode", "substr(given_name, 1, 1)"),
    ("given_name", "family_name"),
)
"""A candidate pair shares one of these (records without a value never block together)."""
DETERMINISTIC = ("l.nhs_number = r.nhs_number", "l.upn = r.upn")
EM_BLOCKING = (("nhs_number",), ("upn",), ("date_of_birth", "substr(family_name, 1, 1)"))
RECORD_COLUMNS = ("unique_id", "given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "upn")
SPARK_SCHEMA = (
    "unique_id long, given_name string, family_name string, date_of_birth date, postcode string, "
    "nhs_number string, upn string"
)
JARO_WINKLER = {"duckdb": "jaro_winkler_similarity", "spark": "jaro_winkler"}
"""The Jaro-Winkler function of each engine's SQL (splink registers Spark's)."""
CONSISTENT = """
    NOT coalesce(nhs_number_l <> nhs_number_r, false)
    AND NOT coalesce(upn_l <> upn_r, false)
    AND (coalesce(nhs_number_l = nhs_number_r, false) OR coalesce(upn_l = upn_r, false)
         OR coalesce({jaro_winkler}(given_name_l, given_name_r) >= 0.7, true))
"""
"""A kept pair contradicts no identifier, and its given names agree unless an identifier vouches for it."""


@dataclass(frozen=True)
class LinkageResult:
    clusters: dict[int, int]
    """Record id → the smallest record id of its person."""
    model: dict[str, Any]
    """The model used (settings with m and u), to store, version and reuse."""
    trained: bool
    pairs_scored: int
    pairs_linked: int


def nicknames() -> dict[str, str]:
    data: dict[str, Any] = json.loads((DATA / "nicknames.json").read_text(encoding="utf-8"))
    return dict(data["nicknames"])


def _settings(stored: dict[str, Any] | None = None) -> Any:
    """The model's settings; with `stored`, its trained m and u (and match prior) on the same comparisons, in
    whichever SQL dialect the engine speaks."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons: list[Any] = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
        cl.PostcodeComparison("postcode"),
        cl.ExactMatch("nhs_number"),
        cl.ExactMatch("upn"),
    ]
    prior: dict[str, Any] = {}
    if stored is not None:
        trained = {c["output_column_name"]: c for c in stored["comparisons"]}
        for i, comparison in enumerate(comparisons):
            name = ("given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "upn")[i]
            levels = [lv for lv in trained[name]["comparison_levels"] if not lv.get("is_null_level")]
            comparisons[i] = comparison.configure(
                m_probabilities=[lv.get("m_probability") or 1e-6 for lv in levels],
                u_probabilities=[lv.get("u_probability") or 1e-6 for lv in levels],
            )
        prior["probability_two_random_records_match"] = stored["probability_two_random_records_match"]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in PREDICT_BLOCKING],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
        **prior,
    )


def _db_api(engine: str, connection: duckdb.DuckDBPyConnection, spark_master: str | None) -> Any:
    if engine == "spark":
        from pyspark.sql import SparkSession  # type: ignore[import-not-found,unused-ignore]  # a council's Spark (pyspark there)
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        builder = SparkSession.builder.master(spark_master or "local[2]").appName("earlyhelp-linkage")
        # splink's string similarity functions (jaro_winkler, …) for Spark SQL
        spark = builder.config("spark.jars", similarity_jar_location()).getOrCreate()
        if spark.sparkContext.getCheckpointDir() is None:  # splink checkpoints its intermediate tables
            spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="earlyhelp-spark-"))
        return SparkAPI(spark_session=spark)  # type: ignore[no-untyped-call]
    from splink import DuckDBAPI

    return DuckDBAPI(connection=connection)


def _register(db_api: Any, engine: str, connection: duckdb.DuckDBPyConnection) -> Any:
    if engine == "spark":
        rows = connection.sql(f"SELECT {', '.join(RECORD_COLUMNS)} FROM records").fetchall()
        frame = db_api.spark.createDataFrame(rows, schema=SPARK_SCHEMA)
        return db_api.register(frame, table_name="records_in")
    return db_api.register("records", table_name="records_in")


def _components(record_ids: list[int], edges: list[tuple[int, int]]) -> dict[int, int]:
    """Connected components (union-find); each record maps to the smallest record id of its component."""
    parent = {r: r for r in record_ids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {r: find(r) for r in record_ids}


def link_records(
    connection: duckdb.DuckDBPyConnection,
    *,
    threshold: float,
    engine: str = "duckdb",
    spark_master: str | None = None,
    model: dict[str, Any] | None = None,
    seed: int = 42,
) -> LinkageResult:
    """Link the rows of the `records` table of `connection` (`RECORD_COLUMNS`) into people."""
    from splink import Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = _db_api(engine, connection, spark_master)
    table = _register(db_api, engine, connection)
    [(count,)] = connection.sql("SELECT count(*) FROM records").fetchall()
    trained = count >= MIN_TRAINING_RECORDS
    if trained:
        linker = Linker(table, _settings(), log_level=None)
        linker.training.estimate_probability_two_random_records_match(list(DETERMINISTIC), recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=seed)
        for rule in EM_BLOCKING:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True
            )
    else:
        stored = model or json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
        linker = Linker(table, _settings(stored), log_level=None)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    consistent = CONSISTENT.format(jaro_winkler=JARO_WINKLER["spark" if engine == "spark" else "duckdb"])
    query = f"SELECT unique_id_l, unique_id_r FROM {{table}} WHERE {consistent}"
    if engine == "spark":
        frame = db_api.spark.table(predictions.physical_name)
        edges = [(int(a), int(b)) for a, b in frame.where(consistent).select("unique_id_l", "unique_id_r").collect()]
        scored = frame.count()
    else:
        edges = [(int(a), int(b)) for a, b in connection.sql(query.format(table=predictions.physical_name)).fetchall()]
        [(scored,)] = connection.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()
    record_ids = [int(r) for (r,) in connection.sql("SELECT unique_id FROM records").fetchall()]
    saved = json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))
    return LinkageResult(
        clusters=_components(record_ids, edges),
        model=saved,
        trained=trained,
        pairs_scored=int(scored),
        pairs_linked=len(edges),
    )
