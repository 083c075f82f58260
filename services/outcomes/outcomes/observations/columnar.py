"""The columnar load of an attendance CSV: parsed in the service (pyarrow), people resolved in bulk, written with
one binary COPY straight into `attendance_records`.

It is the fast path of the careful staged load (`importing`), and sound in the same way `fast_merge_sql` is: it
takes a file only when it can vouch for every row — every value in the plain form the careful checks accept
(a 13-character upper-case UPN, a 10-digit NHS number, a canonical UUID, YYYY-MM-DD dates, whole numbers of
1 to 9 digits, a lower-case true/false spelling) and every cross-field check passing — and computes the same
values from them. Anything else (a bad row, an unusual spelling, a CSV pyarrow cannot read as PostgreSQL would,
two identifier columns) returns None, and the caller stages the file and lets the careful statement decide and
list the errors. A row that names nobody known is counted, not loaded, exactly as the careful path counts it.

The pure half is here (parse, check, de-duplicate, encode the COPY stream); the queries are in the repository.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from outcomes.observations.importing import PERSON_REF

COPY_COLUMNS = (
    "person_id",
    "term_start",
    "term_end",
    "possible_sessions",
    "attended_sessions",
    "unauthorised_sessions",
    "suspensions",
    "permanently_excluded",
    "source_agency",
    "import_id",
)
_IDENTIFIER_PATTERN = {
    "upn": r"^[A-Z][0-9]{11}[0-9A-Z]$",
    "nhs_number": r"^[0-9]{10}$",
    "person_id": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_INT = r"^[0-9]{1,9}$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_PG_EPOCH_DAYS = 10_957
"""Days from 1970-01-01 (arrow's date epoch) to 2000-01-01 (PostgreSQL's)."""
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)


@dataclass(frozen=True)
class Attendance:
    """The typed rows of a file the fast path vouches for, in file order."""

    identifier: str
    """The file's one person identifier column (upn, nhs_number or person_id)."""
    keys: pa.Array
    """That column's values, as the careful path normalises them."""
    term_start: np.ndarray
    term_end: np.ndarray
    possible: np.ndarray
    attended: np.ndarray
    unauthorised: np.ndarray
    suspensions: np.ndarray
    excluded: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.term_start)


def _all(mask: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pc.all(mask.fill_null(False)).as_py()) if len(mask) else True


def _matches(column: pa.ChunkedArray, pattern: str) -> bool:
    return _all(pc.match_substring_regex(column, pattern))


def _read(data: bytes, columns: Sequence[str]) -> pa.Table | None:
    """The CSV rows as text; NULL for an unquoted empty field and '' for a quoted one, as PostgreSQL's COPY."""
    try:
        return pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=list(columns)),
            parse_options=pcsv.ParseOptions(ignore_empty_lines=False, newlines_in_values=False),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _dates(column: pa.ChunkedArray) -> np.ndarray | None:
    if not _matches(column, _DATE) or not _all(pc.invert(pc.starts_with(column, "0000"))):
        return None
    try:
        days = pc.cast(column, pa.date32()).combine_chunks()
    except pa.ArrowInvalid:
        return None
    return np.asarray(days.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int32)


def _ints(table: pa.Table, name: str, *, required: bool) -> np.ndarray | None:
    if name not in table.column_names:
        return None if required else np.zeros(table.num_rows, dtype=np.int32)
    column = table.column(name)
    if required and column.null_count:
        return None
    filled = column.fill_null("0")
    if not _matches(filled, _INT):
        return None
    return np.asarray(pc.cast(filled, pa.int32()).to_numpy(), dtype=np.int32)


def _excluded(table: pa.Table) -> np.ndarray | None:
    if "permanently_excluded" not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.bool_)
    column = pc.utf8_lower(table.column("permanently_excluded").fill_null("false"))
    true = pc.is_in(column, value_set=pa.array(_TRUE))
    if not _all(pc.or_(true, pc.is_in(column, value_set=pa.array(_FALSE)))):
        return None
    return np.asarray(true.to_numpy(zero_copy_only=False), dtype=np.bool_)


def parse_attendance(data: bytes, columns: Sequence[str]) -> Attendance | None:
    """The file's rows typed and checked, or None when any row needs the careful path (see the module)."""
    identifiers = [c for c in columns if c in PERSON_REF]
    if len(identifiers) != 1:
        return None
    table = _read(data, columns)
    if table is None or table.num_rows == 0:
        return None
    identifier = identifiers[0]
    keys = table.column(identifier)
    if keys.null_count or not _matches(keys, _IDENTIFIER_PATTERN[identifier]):
        return None
    start, end = _dates(table.column("term_start")), _dates(table.column("term_end"))
    possible = _ints(table, "possible_sessions", required=True)
    attended = _ints(table, "attended_sessions", required=True)
    unauthorised = _ints(table, "unauthorised_sessions", required=False)
    suspensions = _ints(table, "suspensions", required=False)
    excluded = _excluded(table)
    if (
        start is None or end is None or possible is None or attended is None or unauthorised is None
        or suspensions is None or excluded is None
    ):  # fmt: skip
        return None
    if not (np.all(end >= start) and np.all(attended <= possible) and np.all(unauthorised <= possible - attended)):
        return None
    return Attendance(
        identifier, keys.combine_chunks(), start, end, possible, attended, unauthorised, suspensions, excluded
    )


@dataclass(frozen=True)
class Resolved:
    """Each row's person and term as small integers, and its natural key as one: person * terms + term."""

    pid: np.ndarray
    """Each row's person id (16 bytes; zeros where nobody is known)."""
    found: np.ndarray
    """Whether the row names a known person."""
    terms: np.ndarray
    """The file's distinct (term start, term end) pairs as days since 1970, in order: shape (n, 2)."""
    keys: np.ndarray
    """person position * len(terms) + term position (int64); meaningful where `found`."""


def resolve(rows: Attendance, known: Sequence[str], ids: Sequence[bytes]) -> Resolved:
    """Key the rows by person and term. `known[i]` is an identifier value of the people table and `ids[i]` the
    16 bytes of its person's id, `ids` in ascending order: then the keys' order is the natural key's order
    (person id, term start, term end), the order of attendance_records' unique index."""
    position = pc.index_in(rows.keys, value_set=pa.array(list(known), pa.string()))
    found = np.asarray(position.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    person = np.asarray(position.fill_null(len(ids)).to_numpy(zero_copy_only=False), dtype=np.int64)
    table = np.frombuffer(b"".join(ids) + bytes(16), dtype="V16")  # the last entry: zeros, for unknown rows
    term_keys = (rows.term_start.astype(np.int64) << 32) | (rows.term_end.astype(np.int64) & 0xFFFFFFFF)
    distinct, term = np.unique(term_keys, return_inverse=True)
    terms = np.stack([distinct >> 32, (distinct & 0xFFFFFFFF).astype(np.int32)], axis=1)
    return Resolved(table[person], found, terms, person * len(distinct) + term.astype(np.int64))


def rows_to_load(resolved: Resolved, stored: np.ndarray) -> np.ndarray:
    """Positions of the rows to insert, in the natural key's order: rows naming a known person, the first of
    the file for each person and term (as the careful path: later ones count as already present), and not
    already `stored` (keys, as `Resolved.keys`, of rows already in attendance_records)."""
    candidates = np.flatnonzero(resolved.found)
    keys, first = np.unique(resolved.keys[candidates], return_index=True)  # sorted; the first of each key
    load = candidates[first]
    if stored.size:
        load = load[~np.isin(keys, stored)]
    return load


def copy_stream(
    rows: Attendance, pid: np.ndarray, load: np.ndarray, *, source_agency: str, import_id: bytes, chunk_rows: int
) -> Iterator[bytes]:
    """PostgreSQL's binary COPY format for the rows at positions `load`, in `COPY_COLUMNS` order, in chunks.

    Every field has a fixed width (the source agency is one value per import), so a row is a numpy record and a
    chunk of rows is one buffer: no Python object per row.
    """
    agency = source_agency.encode()
    if not agency:
        raise ValueError("the source agency is never empty (see `ObservationsService`)")
    fields = [("n", ">i2")]
    for name, kind in (("pid", "V16"), ("start", ">i4"), ("end", ">i4"), ("possible", ">i4"), ("attended", ">i4"),
                       ("unauthorised", ">i4"), ("suspensions", ">i4"), ("excluded", "u1"),
                       ("agency", f"V{len(agency)}"), ("import_id", "V16")):  # fmt: skip
        fields += [(f"{name}_len", ">i4"), (name, kind)]
    record = np.dtype(fields)
    yield _COPY_HEADER
    for begin in range(0, len(load), chunk_rows):
        at = load[begin : begin + chunk_rows]
        out = np.empty(len(at), dtype=record)
        out["n"] = len(COPY_COLUMNS)
        for name, size in (("pid", 16), ("start", 4), ("end", 4), ("possible", 4), ("attended", 4),
                           ("unauthorised", 4), ("suspensions", 4), ("excluded", 1), ("agency", len(agency)),
                           ("import_id", 16)):  # fmt: skip
            out[f"{name}_len"] = size
        out["pid"] = pid[at]
        out["start"] = rows.term_start[at] - _PG_EPOCH_DAYS
        out["end"] = rows.term_end[at] - _PG_EPOCH_DAYS
        out["possible"], out["attended"] = rows.possible[at], rows.attended[at]
        out["unauthorised"], out["suspensions"] = rows.unauthorised[at], rows.suspensions[at]
        out["excluded"] = rows.excluded[at]
        out["agency"] = np.frombuffer(agency, dtype=f"V{len(agency)}")[0]
        out["import_id"] = np.frombuffer(import_id, dtype="V16")[0]
        yield out.tobytes()
    yield _COPY_TRAILER
