"""The observation load pipeline's SQL: staging columns, row checks, and the set-based merge per kind.

Rows arrive as text in a temporary staging table (COPY from a CSV upload, or the rows of a JSON batch); every
check is one SQL expression, so a whole file is checked in one scan and merged in one INSERT … SELECT. A staged
row's place in the file is its `ctid` (the table is filled once, in file order, and never updated).

Two statements load a kind, and they agree on every row:

* `merge_sql`, the careful one: it evaluates each of the row checks below for every row, counts the bad rows
  and loads the good ones; `errors_sql` then lists the bad rows with their errors.
* `fast_merge_sql` (attendance, the kind that arrives by the million): it casts the values of the rows that
  name a known person and checks the typed values, and runs the careful checks only on the rows that name
  nobody. It is sound, not complete: it may call a good row doubtful (an unusual spelling of a number, say) but
  never a bad one good. A cast that fails raises; a doubtful row makes it report `doubtful > 0`. Either way the
  caller rolls it back and runs the careful statement, so a clean file pays for the cheap checks only.
"""

from __future__ import annotations

from collections.abc import Collection

OBSERVATION_KINDS = (
    "attendance",
    "offence",
    "asb",
    "domestic_abuse_incident",
    "employment",
    "housing",
    "neet",
    "financial",
    "practitioner_assessment",
)
PERSON_REF = ("person_id", "nhs_number", "upn")
ATTENDANCE_MERGE_LOCK = 0x6F757461_74746E64
"""Transaction-scoped advisory lock key held by every attendance merge (see `merge_sql`)."""


def shape_of(kind: str) -> str:
    if kind in ("offence", "asb", "domestic_abuse_incident"):
        return "incident"
    if kind in ("employment", "housing", "neet", "financial"):
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


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Each check pairs a cheap test that implies the pattern (true for almost every row of a real file) with the
# exact regular expression, which PostgreSQL only evaluates when the cheap test fails: a regex costs a few
# microseconds a call, and a million-row file has several such columns.


def _date_ok(c: str) -> str:
    cheap = f"({c} LIKE '____-__-__' AND translate({c}, '{_DIGITS}', '') = '--')"
    exact = f"{c} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'"
    return f"((CASE WHEN {cheap} THEN true ELSE {exact} END) AND pg_input_is_valid({c}, 'date'))"


def _int_ok(c: str) -> str:
    cheap = f"({c} <> '' AND length({c}) <= 9 AND translate({c}, '{_DIGITS}', '') = '')"
    return f"(CASE WHEN {cheap} THEN true ELSE btrim({c}) ~ '^[0-9]{{1,9}}$' END)"


def _uuid_ok(c: str) -> str:
    return f"pg_input_is_valid({c}, 'uuid')"


def _bool_ok(c: str) -> str:
    return f"(lower(btrim({c})) IN {_BOOL})"


def _bool(c: str) -> str:
    return f"(lower(btrim({c})) IN {_TRUE})"


def _nhs(c: str) -> str:
    """The NHS number without spaces or dashes."""
    exact = f"regexp_replace({c}, '[[:space:]-]', '', 'g')"
    return f"(CASE WHEN translate({c}, '{_DIGITS}', '') = '' THEN {c} ELSE {exact} END)"


def _nhs_ok(c: str) -> str:
    cheap = f"(length({c}) = 10 AND translate({c}, '{_DIGITS}', '') = '')"
    return f"(CASE WHEN {cheap} THEN true ELSE {_nhs(c)} ~ '^[0-9]{{10}}$' END)"


def _upn(c: str) -> str:
    return f"upper(btrim({c}))"


def _upn_ok(c: str) -> str:
    u = _upn(c)
    cheap = (
        f"(length({c}) = 13 AND strpos('{_LETTERS}', left({c}, 1)) > 0"
        f" AND translate(substr({c}, 2, 11), '{_DIGITS}', '') = ''"
        f" AND strpos('{_DIGITS}{_LETTERS}', right({c}, 1)) > 0)"
    )
    return f"(CASE WHEN {cheap} THEN true ELSE {u} ~ '^[A-Z][0-9]{{11}}[0-9A-Z]$' END)"


Check = tuple[str, str, str, str]
"""(condition that makes the row bad, column, reason, the same condition for `good_expr`).

`good_expr` tests the conditions in order and stops at the first that holds, so a cross-field check there may
drop the guards that re-validate its inputs: the earlier checks have passed. The error list evaluates every
condition independently and needs the guarded form.
"""


def _err(cond: str, column: str, reason: str, *, after_earlier_checks: str | None = None) -> Check:
    return (cond, column, reason, after_earlier_checks or cond)


def _required_date(c: str) -> list[Check]:
    return [
        _err(f"s.{c} IS NULL", c, "required"),
        _err(f"s.{c} IS NOT NULL AND NOT {_date_ok('s.' + c)}", c, "not a date (YYYY-MM-DD)"),
    ]


def _required_int(c: str) -> list[Check]:
    return [
        _err(f"s.{c} IS NULL", c, "required"),
        _err(f"s.{c} IS NOT NULL AND NOT {_int_ok('s.' + c)}", c, "not a whole number of 0 or more"),
    ]


def _optional_int(c: str) -> list[Check]:
    return [_err(f"s.{c} IS NOT NULL AND NOT {_int_ok('s.' + c)}", c, "not a whole number of 0 or more")]


def _person_checks(allow_family: bool) -> list[Check]:
    missing = "s.person_id IS NULL AND s.nhs_number IS NULL AND s.upn IS NULL"
    reason = "one of person_id, nhs_number or upn is required"
    if allow_family:
        missing += " AND s.family_id IS NULL"
        reason = "one of person_id, nhs_number, upn or family_id is required"
    return [
        _err(missing, "person_id", reason),
        _err(f"s.person_id IS NOT NULL AND NOT {_uuid_ok('s.person_id')}", "person_id", "not a UUID"),
        _err(f"s.nhs_number IS NOT NULL AND NOT {_nhs_ok('s.nhs_number')}", "nhs_number", "not a 10-digit NHS number"),
        _err(f"s.upn IS NOT NULL AND NOT {_upn_ok('s.upn')}", "upn", "not a 13-character UPN"),
    ]


def _checks(shape: str) -> list[Check]:
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
                after_earlier_checks="CAST(s.term_end AS date) < CAST(s.term_start AS date)",
            ),
            _err(
                f"CASE WHEN {ints_ok} THEN CAST(s.attended_sessions AS int) > CAST(s.possible_sessions AS int)"
                " ELSE false END",
                "attended_sessions",
                "more than possible_sessions",
                after_earlier_checks="CAST(s.attended_sessions AS int) > CAST(s.possible_sessions AS int)",
            ),
            _err(
                f"CASE WHEN {ints_ok} AND {unauth_ok}"
                " AND CAST(s.attended_sessions AS int) <= CAST(s.possible_sessions AS int)"
                " THEN coalesce(CAST(s.unauthorised_sessions AS int), 0)"
                " > CAST(s.possible_sessions AS int) - CAST(s.attended_sessions AS int) ELSE false END",
                "unauthorised_sessions",
                "more than the sessions missed",
                after_earlier_checks="coalesce(CAST(s.unauthorised_sessions AS int), 0)"
                " > CAST(s.possible_sessions AS int) - CAST(s.attended_sessions AS int)",
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
                after_earlier_checks="CAST(s.period_end AS date) < CAST(s.period_start AS date)",
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
    items = (f"CASE WHEN {cond} THEN '{column}\t{reason}' END" for cond, column, reason, _ in _checks(shape))
    return "array_remove(ARRAY[" + ", ".join(items) + "]::text[], NULL)"


def good_expr(shape: str) -> str:
    """True exactly when `errors_expr` is empty, without building the array (stops at the first failure)."""
    return "(CASE " + " ".join(f"WHEN {fast} THEN false" for _, _, _, fast in _checks(shape)) + " ELSE true END)"


_PERSON_JOINS = {
    "person_id": "LEFT JOIN people p1 ON {guard}p1.id = "
    f"CASE WHEN {_uuid_ok('s.person_id')} THEN CAST(s.person_id AS uuid) END",
    "nhs_number": "LEFT JOIN people p2 ON {guard}p2.nhs_number = " + _nhs("s.nhs_number"),
    "upn": "LEFT JOIN people p3 ON {guard}p3.upn = " + _upn("s.upn"),
}
_PERSON_ALIAS = {"person_id": "p1", "nhs_number": "p2", "upn": "p3"}


def _person_refs(present: Collection[str] | None) -> list[str]:
    return [c for c in PERSON_REF if present is None or c in present]


def _person_join(present: Collection[str] | None, guard: str = "s.ok AND ") -> tuple[str, str]:
    """The joins resolving a staged row's person, and the resolved id: only for the identifier columns the
    file has (a CSV import of UPNs does not hash the people table three times). `guard` limits the joins to
    the rows that passed their checks."""
    refs = _person_refs(present)
    if not refs:
        return "", "CAST(NULL AS uuid)"
    joins = "\n".join(_PERSON_JOINS[c].format(guard=guard) for c in refs)
    return joins, "coalesce(" + ", ".join(f"{_PERSON_ALIAS[c]}.id" for c in refs) + ")"


_FAMILY = f"CASE WHEN s.ok AND {_uuid_ok('s.family_id')} THEN CAST(s.family_id AS uuid) END"


def _staged(shape: str, staging: str) -> str:
    """Every staged row with `ok`, its checks evaluated once (`OFFSET 0` keeps the planner from copying the
    expression into each place that reads `ok`)."""
    return f"(SELECT s.ctid AS pos, s.*, {good_expr(shape)} AS ok FROM {staging} s OFFSET 0) s"


def _when_ok(expr: str) -> str:
    """Casts only for good rows: a bad row passes through (to be counted as rejected) without failing them."""
    return f"CASE WHEN s.ok THEN {expr} END"


def _insert_attendance(rows: str, where: str) -> str:
    """Insert the `rows` (pid, pos and the typed attendance columns) that satisfy `where`: the first of the file
    for a person and term, and only where none is stored yet.

    Rows already stored are left out by an anti-join and the rest inserted plainly: `ON CONFLICT DO NOTHING`
    would pay a speculative insertion per row (half as much again as a plain insert at a million rows, and far
    slower on a re-import, where every row conflicts). Attendance merges hold `ATTENDANCE_MERGE_LOCK` (taken
    by the repository first), so no other merge inserts the same key meanwhile; the unique constraint still
    guards it. In the natural key's order, consecutive rows land on the same leaf pages of its index.
    """
    return f"""
        INSERT INTO attendance_records (person_id, term_start, term_end, possible_sessions, attended_sessions,
                                        unauthorised_sessions, suspensions, permanently_excluded,
                                        source_agency, import_id)
        SELECT pid, term_start, term_end, possible, attended, unauthorised, suspensions, excluded,
               :source_agency, :import_id
        FROM (SELECT DISTINCT ON (pid, term_start, term_end) *
              FROM {rows} WHERE {where}
              ORDER BY pid, term_start, term_end, pos) src
        WHERE NOT EXISTS (SELECT 1 FROM attendance_records a
                          WHERE a.person_id = src.pid AND a.term_start = src.term_start
                            AND a.term_end = src.term_end)
        RETURNING 1"""


def merge_sql(kind: str, staging: str, present: Collection[str] | None = None) -> str:
    """One statement, one pass over the staged rows: check, resolve people, insert the good rows, and count
    (rejected, valid, matched, loaded). Bad rows are only counted here; `errors_sql` lists them.

    `present`: the columns the file has (the others are all NULL in staging); None for all of them.
    """
    shape = shape_of(kind)
    staged = _staged(shape, staging)
    person_join, pid_expr = _person_join(present)
    if shape == "attendance":
        checked = f"""
        SELECT s.ok, s.pos, {pid_expr} AS pid, {_when_ok("CAST(s.term_start AS date)")} AS term_start,
               {_when_ok("CAST(s.term_end AS date)")} AS term_end,
               {_when_ok("CAST(s.possible_sessions AS int)")} AS possible,
               {_when_ok("CAST(s.attended_sessions AS int)")} AS attended,
               {_when_ok("CAST(coalesce(s.unauthorised_sessions, '0') AS int)")} AS unauthorised,
               {_when_ok("CAST(coalesce(s.suspensions, '0') AS int)")} AS suspensions,
               coalesce({_bool("s.permanently_excluded")}, false) AS excluded
        FROM {staged} {person_join}"""
        # The first row of the file for a person and term wins (later ones count as already present).
        insert = _insert_attendance("checked", "ok AND pid IS NOT NULL")
        return _with_counts(checked, insert, "pid IS NOT NULL")
    if shape == "incident":
        checked = f"""
        SELECT s.ok, {pid_expr} AS pid, f.family_id AS fid,
               (s.person_id IS NULL AND s.nhs_number IS NULL AND s.upn IS NULL) AS family_only,
               {_when_ok("CAST(s.occurred_on AS date)")} AS occurred_on, coalesce(s.reference, '') AS reference
        FROM {staged} {person_join}
        LEFT JOIN (SELECT DISTINCT family_id FROM enrolments) f ON f.family_id = {_FAMILY}"""
        matched = "pid IS NOT NULL OR (family_only AND fid IS NOT NULL)"
        insert = f"""
        INSERT INTO incidents (kind, person_id, family_id, occurred_on, reference, source_agency, import_id)
        SELECT :kind, pid, fid, occurred_on, reference, :source_agency, :import_id
        FROM checked WHERE ok AND ({matched})
        ON CONFLICT DO NOTHING RETURNING 1"""
        return _with_counts(checked, insert, matched)
    if shape == "status":
        checked = f"""
        SELECT s.ok, s.pos, {pid_expr} AS pid, btrim(s.status) AS status,
               {_when_ok("CAST(s.period_start AS date)")} AS period_start,
               {_when_ok("CAST(s.period_end AS date)")} AS period_end
        FROM {staged} {person_join}"""
        # The last row of a file for a person and start date wins; valid rows are counted after that.
        src = """
        SELECT DISTINCT ON (pid, period_start) pid, status, period_start, period_end
        FROM checked WHERE ok
        ORDER BY pid, period_start, pos DESC"""
        insert = """
        INSERT INTO status_periods AS t (kind, person_id, status, period_start, period_end, source_agency, import_id)
        SELECT :kind, pid, status, period_start, period_end, :source_agency, :import_id
        FROM src WHERE pid IS NOT NULL
        ON CONFLICT (kind, person_id, period_start) DO UPDATE
            SET status = excluded.status, period_end = excluded.period_end,
                source_agency = excluded.source_agency, import_id = excluded.import_id
            WHERE (t.status, t.period_end) IS DISTINCT FROM (excluded.status, excluded.period_end)
        RETURNING 1"""
        return f"""
    WITH checked AS MATERIALIZED ({checked}),
    src AS MATERIALIZED ({src}),
    ins AS ({insert})
    SELECT (SELECT count(*) FROM checked WHERE NOT ok) AS rejected,
           (SELECT count(*) FROM src) AS valid,
           (SELECT count(*) FROM src WHERE pid IS NOT NULL) AS matched,
           (SELECT count(*) FROM ins) AS loaded"""
    checked = f"""
        SELECT s.ok, f.family_id AS pid, btrim(s.need) AS need, {_bool("s.met")} AS met,
               coalesce(s.evidence, '') AS evidence, {_when_ok("CAST(s.assessed_on AS date)")} AS assessed_on
        FROM {staged}
        LEFT JOIN (SELECT DISTINCT family_id FROM enrolments) f ON f.family_id = {_FAMILY}"""
    insert = """
        INSERT INTO practitioner_assessments (family_id, need, met, evidence, assessed_on, source_agency, import_id)
        SELECT pid, need, met, evidence, assessed_on, :source_agency, :import_id
        FROM checked WHERE ok AND pid IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING 1"""
    return _with_counts(checked, insert, "pid IS NOT NULL")


_FAST_TRUE = "('true', 't', 'yes', 'y', '1')"
_FAST_FALSE = "('false', 'f', 'no', 'n', '0')"


def fast_merge_sql(kind: str, staging: str, present: Collection[str] | None = None) -> str | None:
    """The fast statement for `kind` (see the module's docstring), or None when the kind has none.

    It returns the careful statement's counts and `doubtful`, the rows it cannot vouch for. Its result stands
    only when `doubtful` is 0; otherwise the caller rolls it back and runs `merge_sql`. The caller sets
    DateStyle ISO, so that a date reads back as YYYY-MM-DD.
    """
    if kind != "attendance":
        return None
    person_join, pid_expr = _person_join(present, guard="")
    # A row that names a known person must do so by every identifier it gives (a malformed or unknown second
    # identifier is for the careful checks to judge); a row that names nobody is unknown only when its
    # identifiers are well formed.
    refs = _person_refs(present)
    resolved = " AND ".join(f"(s.{c} IS NULL OR {_PERSON_ALIAS[c]}.id IS NOT NULL)" for c in refs) or "false"
    identifiers_bad = " OR ".join(f"({cond})" for cond, *_ in _person_checks(False))
    # Each value is cast once (the inner query; OFFSET 0 keeps the planner from repeating the casts where the
    # outer query reads them) and kept only when it reads back as written.
    casts = {
        "term_start": ("s.term_start", "date"),
        "term_end": ("s.term_end", "date"),
        "possible": ("s.possible_sessions", "int"),
        "attended": ("s.attended_sessions", "int"),
        "unauthorised": ("coalesce(s.unauthorised_sessions, '0')", "int"),
        "suspensions": ("coalesce(s.suspensions, '0')", "int"),
    }
    inner = ", ".join(
        f"{raw} AS {name}_text, CAST({raw} AS {type_}) AS {name}_cast" for name, (raw, type_) in casts.items()
    )
    outer = ", ".join(f"CASE WHEN CAST({n}_cast AS text) = {n}_text THEN {n}_cast END AS {n}" for n in casts)
    typed = f"""
        SELECT pos, pid, named, {outer},
               CASE WHEN excluded_text IS NULL OR excluded_text IN {_FAST_FALSE} THEN false
                    WHEN excluded_text IN {_FAST_TRUE} THEN true END AS excluded
        FROM (SELECT s.ctid AS pos, {pid_expr} AS pid,
                     CASE WHEN {pid_expr} IS NOT NULL THEN {resolved} ELSE NOT ({identifiers_bad}) END AS named,
                     {inner}, s.permanently_excluded AS excluded_text
              FROM {staging} s {person_join} OFFSET 0) s"""
    # The careful checks, on typed values. A number of ten digits or more is refused by the careful check.
    sound = """coalesce(
        named AND term_start IS NOT NULL AND term_end IS NOT NULL AND term_end >= term_start
        AND possible BETWEEN 0 AND 999999999 AND attended BETWEEN 0 AND possible
        AND unauthorised BETWEEN 0 AND possible - attended AND suspensions BETWEEN 0 AND 999999999
        AND excluded IS NOT NULL, false)"""
    # Inserted as `merge_sql` inserts (`_insert_attendance`). When any row is doubtful nothing is sorted or
    # inserted (the `doubt` test runs once, before the first row is), so a file with a few bad rows costs one
    # cheap pass more than the careful statement alone.
    return f"""
    WITH r AS MATERIALIZED ({typed}),
    doubt AS (SELECT count(*) AS n FROM r WHERE NOT {sound}),
    ins AS ({_insert_attendance("r", f"pid IS NOT NULL AND {sound} AND (SELECT n FROM doubt) = 0")})
    SELECT 0 AS rejected, count(*) AS valid, count(*) FILTER (WHERE pid IS NOT NULL) AS matched,
           (SELECT count(*) FROM ins) AS loaded, (SELECT n FROM doubt) AS doubtful
    FROM r"""


def _with_counts(checked: str, insert: str, matched: str) -> str:
    return f"""
    WITH checked AS MATERIALIZED ({checked}),
    ins AS ({insert})
    SELECT count(*) FILTER (WHERE NOT ok) AS rejected,
           count(*) FILTER (WHERE ok) AS valid,
           count(*) FILTER (WHERE ok AND ({matched})) AS matched,
           (SELECT count(*) FROM ins) AS loaded
    FROM checked"""


def errors_sql(kind: str, staging: str, limit: int) -> str:
    """The first `limit` bad rows with their errors, and how many bad rows there are in all.

    `line` is the row's place among the staged rows, from 1. Only the rows that fail the cheap test get their
    list of errors built.
    """
    shape = shape_of(kind)
    return f"""
    SELECT s.line, {errors_expr(shape)} AS errs, count(*) OVER () AS bad_rows
    FROM (SELECT row_number() OVER (ORDER BY ctid) AS line, * FROM {staging}) s
    WHERE NOT {good_expr(shape)}
    ORDER BY s.line
    LIMIT {int(limit)}"""
