"""The observation load pipeline's SQL: staging columns, row checks, and the set-based merge per kind.

Rows arrive as text in a temporary staging table (COPY from a CSV upload, or the rows of a JSON batch); every
check is one SQL expression, so a whole file is checked in one scan and merged in one INSERT … SELECT.
"""

from __future__ import annotations

OBSERVATION_KINDS = (
    "attendance",
    "offence",
    "asb",
    "domestic_abuse_incident",
    "employment",
    "housing",
    "neet",
    "practitioner_assessment",
)
PERSON_REF = ("person_id", "nhs_number", "upn")


def shape_of(kind: str) -> str:
    if kind in ("offence", "asb", "domestic_abuse_incident"):
        return "incident"
    if kind in ("employment", "housing", "neet"):
        return "status"
    return kind


COLUMNS: dict[str, tuple[str, ...]] = {
    "attendance": (
        *PERSON_REF,
        "term_start",
        "term_end",
        "possible_sessions",
        "attended_sessions",
        "unauthorised_sessions",
        "suspensions",
        "permanently_excluded",
    ),
    "incident": (*PERSON_REF, "family_id", "occurred_on", "reference"),
    "status": (*PERSON_REF, "status", "period_start", "period_end"),
    "practitioner_assessment": ("family_id", "need", "met", "evidence", "assessed_on"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "attendance": ("term_start", "term_end", "possible_sessions", "attended_sessions"),
    "incident": ("occurred_on",),
    "status": ("status", "period_start"),
    "practitioner_assessment": ("family_id", "need", "met", "assessed_on"),
}

_TRUE = "('true', 't', 'yes', 'y', '1')"
_BOOL = "('true', 't', 'yes', 'y', '1', 'false', 'f', 'no', 'n', '0')"


def _date_ok(c: str) -> str:
    return f"({c} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' AND pg_input_is_valid({c}, 'date'))"


def _int_ok(c: str) -> str:
    return f"(btrim({c}) ~ '^[0-9]{{1,9}}$')"


def _uuid_ok(c: str) -> str:
    return f"pg_input_is_valid({c}, 'uuid')"


def _bool_ok(c: str) -> str:
    return f"(lower(btrim({c})) IN {_BOOL})"


def _bool(c: str) -> str:
    return f"(lower(btrim({c})) IN {_TRUE})"


def _nhs(c: str) -> str:
    return f"regexp_replace({c}, '[[:space:]-]', '', 'g')"


def _upn(c: str) -> str:
    return f"upper(btrim({c}))"


def _err(cond: str, column: str, reason: str) -> str:
    return f"CASE WHEN {cond} THEN '{column}\t{reason}' END"


def _required_date(c: str) -> list[str]:
    return [
        _err(f"s.{c} IS NULL", c, "required"),
        _err(f"s.{c} IS NOT NULL AND NOT {_date_ok('s.' + c)}", c, "not a date (YYYY-MM-DD)"),
    ]


def _required_int(c: str) -> list[str]:
    return [
        _err(f"s.{c} IS NULL", c, "required"),
        _err(f"s.{c} IS NOT NULL AND NOT {_int_ok('s.' + c)}", c, "not a whole number of 0 or more"),
    ]


def _optional_int(c: str) -> list[str]:
    return [_err(f"s.{c} IS NOT NULL AND NOT {_int_ok('s.' + c)}", c, "not a whole number of 0 or more")]


def _person_checks(allow_family: bool) -> list[str]:
    missing = "s.person_id IS NULL AND s.nhs_number IS NULL AND s.upn IS NULL"
    reason = "one of person_id, nhs_number or upn is required"
    if allow_family:
        missing += " AND s.family_id IS NULL"
        reason = "one of person_id, nhs_number, upn or family_id is required"
    return [
        _err(missing, "person_id", reason),
        _err(f"s.person_id IS NOT NULL AND NOT {_uuid_ok('s.person_id')}", "person_id", "not a UUID"),
        _err(
            f"s.nhs_number IS NOT NULL AND {_nhs('s.nhs_number')} !~ '^[0-9]{{10}}$'",
            "nhs_number",
            "not a 10-digit NHS number",
        ),
        _err(
            f"s.upn IS NOT NULL AND {_upn('s.upn')} !~ '^[A-Z][0-9]{{11}}[0-9A-Z]$'",
            "upn",
            "not a 13-character UPN",
        ),
    ]


def _checks(shape: str) -> list[str]:
    if shape == "attendance":
        ints_ok = " AND ".join(_int_ok(f"s.{c}") for c in ("possible_sessions", "attended_sessions"))
        unauth_ok = f"(s.unauthorised_sessions IS NULL OR {_int_ok('s.unauthorised_sessions')})"
        return [
            *_person_checks(False),
            *_required_date("term_start"),
            *_required_date("term_end"),
            *_required_int("possible_sessions"),
            *_required_int("attended_sessions"),
            *_optional_int("unauthorised_sessions"),
            *_optional_int("suspensions"),
            _err(
                f"s.permanently_excluded IS NOT NULL AND NOT {_bool_ok('s.permanently_excluded')}",
                "permanently_excluded",
                "not true or false",
            ),
            _err(
                f"CASE WHEN {_date_ok('s.term_start')} AND {_date_ok('s.term_end')}"
                " THEN CAST(s.term_end AS date) < CAST(s.term_start AS date) ELSE false END",
                "term_end",
                "before term_start",
            ),
            _err(
                f"CASE WHEN {ints_ok} THEN CAST(s.attended_sessions AS int) > CAST(s.possible_sessions AS int)"
                " ELSE false END",
                "attended_sessions",
                "more than possible_sessions",
            ),
            _err(
                f"CASE WHEN {ints_ok} AND {unauth_ok}"
                " AND CAST(s.attended_sessions AS int) <= CAST(s.possible_sessions AS int)"
                " THEN coalesce(CAST(s.unauthorised_sessions AS int), 0)"
                " > CAST(s.possible_sessions AS int) - CAST(s.attended_sessions AS int) ELSE false END",
                "unauthorised_sessions",
                "more than the sessions missed",
            ),
        ]
    if shape == "incident":
        return [
            *_person_checks(True),
            _err(f"s.family_id IS NOT NULL AND NOT {_uuid_ok('s.family_id')}", "family_id", "not a UUID"),
            *_required_date("occurred_on"),
            _err("length(s.reference) > 100", "reference", "longer than 100 characters"),
        ]
    if shape == "status":
        return [
            *_person_checks(False),
            _err("s.status IS NULL OR btrim(s.status) = ''", "status", "required"),
            *_required_date("period_start"),
            _err(
                f"s.period_end IS NOT NULL AND NOT {_date_ok('s.period_end')}", "period_end", "not a date (YYYY-MM-DD)"
            ),
            _err(
                f"CASE WHEN {_date_ok('s.period_start')} AND {_date_ok('s.period_end')}"
                " THEN CAST(s.period_end AS date) < CAST(s.period_start AS date) ELSE false END",
                "period_end",
                "before period_start",
            ),
        ]
    return [
        _err("s.family_id IS NULL", "family_id", "required"),
        _err(f"s.family_id IS NOT NULL AND NOT {_uuid_ok('s.family_id')}", "family_id", "not a UUID"),
        _err("s.need IS NULL OR btrim(s.need) = ''", "need", "required"),
        _err("s.met IS NULL", "met", "required"),
        _err(f"s.met IS NOT NULL AND NOT {_bool_ok('s.met')}", "met", "not true or false"),
        *_required_date("assessed_on"),
    ]


def errors_expr(shape: str) -> str:
    """A `text[]` of `column<TAB>reason` for one staging row `s`; empty when the row is good."""
    return "array_remove(ARRAY[" + ", ".join(_checks(shape)) + "]::text[], NULL)"


_PERSON_JOIN = f"""
LEFT JOIN people p1 ON p1.id = CASE WHEN {_uuid_ok("s.person_id")} THEN CAST(s.person_id AS uuid) END
LEFT JOIN people p2 ON p2.nhs_number = {_nhs("s.nhs_number")}
LEFT JOIN people p3 ON p3.upn = {_upn("s.upn")}"""
_PID = "coalesce(p1.id, p2.id, p3.id)"
_FAMILY = f"CASE WHEN {_uuid_ok('s.family_id')} THEN CAST(s.family_id AS uuid) END"


def merge_sql(kind: str, staging: str) -> str:
    """One statement: resolve people, insert the good rows, and count (unknown, matched, loaded)."""
    shape = shape_of(kind)
    valid = f"cardinality({errors_expr(shape)}) = 0"
    if shape == "attendance":
        src = f"""
        SELECT {_PID} AS pid, CAST(s.term_start AS date) AS term_start, CAST(s.term_end AS date) AS term_end,
               CAST(s.possible_sessions AS int) AS possible, CAST(s.attended_sessions AS int) AS attended,
               CAST(coalesce(s.unauthorised_sessions, '0') AS int) AS unauthorised,
               CAST(coalesce(s.suspensions, '0') AS int) AS suspensions,
               coalesce({_bool("s.permanently_excluded")}, false) AS excluded
        FROM {staging} s {_PERSON_JOIN}
        WHERE {valid}"""
        insert = """
        INSERT INTO attendance_records (person_id, term_start, term_end, possible_sessions, attended_sessions,
                                        unauthorised_sessions, suspensions, permanently_excluded,
                                        source_agency, import_id)
        SELECT pid, term_start, term_end, possible, attended, unauthorised, suspensions, excluded,
               :source_agency, :import_id
        FROM src WHERE pid IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING 1"""
    elif shape == "incident":
        src = f"""
        SELECT {_PID} AS pid, f.family_id AS fid,
               (s.person_id IS NULL AND s.nhs_number IS NULL AND s.upn IS NULL) AS family_only,
               CAST(s.occurred_on AS date) AS occurred_on, coalesce(s.reference, '') AS reference
        FROM {staging} s {_PERSON_JOIN}
        LEFT JOIN (SELECT DISTINCT family_id FROM enrolments) f ON f.family_id = {_FAMILY}
        WHERE {valid}"""
        insert = """
        INSERT INTO incidents (kind, person_id, family_id, occurred_on, reference, source_agency, import_id)
        SELECT :kind, pid, fid, occurred_on, reference, :source_agency, :import_id
        FROM src WHERE (pid IS NOT NULL OR (family_only AND fid IS NOT NULL))
        ON CONFLICT DO NOTHING RETURNING 1"""
        return _with_counts(src, insert, "pid IS NOT NULL OR (family_only AND fid IS NOT NULL)")
    elif shape == "status":
        src = f"""
        SELECT DISTINCT ON ({_PID}, CAST(s.period_start AS date))
               {_PID} AS pid, btrim(s.status) AS status, CAST(s.period_start AS date) AS period_start,
               CAST(s.period_end AS date) AS period_end
        FROM {staging} s {_PERSON_JOIN}
        WHERE {valid}
        ORDER BY {_PID}, CAST(s.period_start AS date), s.line DESC"""
        insert = """
        INSERT INTO status_periods AS t (kind, person_id, status, period_start, period_end, source_agency, import_id)
        SELECT :kind, pid, status, period_start, period_end, :source_agency, :import_id
        FROM src WHERE pid IS NOT NULL
        ON CONFLICT (kind, person_id, period_start) DO UPDATE
            SET status = excluded.status, period_end = excluded.period_end,
                source_agency = excluded.source_agency, import_id = excluded.import_id
            WHERE (t.status, t.period_end) IS DISTINCT FROM (excluded.status, excluded.period_end)
        RETURNING 1"""
    else:
        src = f"""
        SELECT f.family_id AS pid, btrim(s.need) AS need, {_bool("s.met")} AS met,
               coalesce(s.evidence, '') AS evidence, CAST(s.assessed_on AS date) AS assessed_on
        FROM {staging} s
        LEFT JOIN (SELECT DISTINCT family_id FROM enrolments) f ON f.family_id = {_FAMILY}
        WHERE {valid}"""
        insert = """
        INSERT INTO practitioner_assessments (family_id, need, met, evidence, assessed_on, source_agency, import_id)
        SELECT pid, need, met, evidence, assessed_on, :source_agency, :import_id
        FROM src WHERE pid IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING 1"""
    return _with_counts(src, insert, "pid IS NOT NULL")


def _with_counts(src: str, insert: str, matched: str) -> str:
    return f"""
    WITH src AS MATERIALIZED ({src}),
    ins AS ({insert})
    SELECT (SELECT count(*) FROM src) AS valid,
           (SELECT count(*) FROM src WHERE {matched}) AS matched,
           (SELECT count(*) FROM ins) AS loaded"""


def errors_sql(kind: str, staging: str, limit: int) -> str:
    """The first `limit` bad rows with their errors, and how many bad rows there are in all."""
    return f"""
    SELECT line, errs, count(*) OVER () AS bad_rows
    FROM (SELECT s.line, {errors_expr(shape_of(kind))} AS errs FROM {staging} s) x
    WHERE cardinality(errs) > 0
    ORDER BY line
    LIMIT {int(limit)}"""
