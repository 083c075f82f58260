"""Reading a partner CSV file row by row: every value checked and typed, every problem reported with its line
and column. Pure functions over a text file, run in a worker thread so the event loop keeps serving."""

from __future__ import annotations

import csv
import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from intelligence.datasets.kinds import PERSON_COLUMNS, Column, Kind
from shared.identifiers import normalise_nhs_number, normalise_postcode, normalise_upn, normalise_urn

# A person appears in many rows (a pupil in every term's census, a household at one postcode): the checked,
# normalised identifiers are remembered (a value that fails is checked again each time, and reported each time).
_nhs = functools.lru_cache(maxsize=1 << 18)(normalise_nhs_number)
_upn = functools.lru_cache(maxsize=1 << 18)(normalise_upn)
_postcode = functools.lru_cache(maxsize=1 << 18)(normalise_postcode)
_urn = functools.lru_cache(maxsize=1 << 16)(normalise_urn)

MAX_TEXT = 200
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_BOOL = _TRUE | {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    reason: str


@dataclass
class Parsed:
    """The good rows (ready for COPY, in `STAGED_COLUMNS` order) and the problems of the bad ones."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    rows_total: int = 0
    rows_rejected: int = 0


STAGED_COLUMNS = (*PERSON_COLUMNS, "event_date", "attributes", "row_hash")


class HeaderProblem(ValueError):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"The CSV header has {len(problems)} problem(s)")
        self.problems = problems


def header_columns(header: list[str], kind: Kind) -> list[str]:
    names = [n.strip().lower() for n in header]
    allowed = kind.column_names
    problems = []
    for i, name in enumerate(names):
        if name not in allowed:
            problems.append(RowProblem(1, name, f"unknown column; expected some of {', '.join(allowed)}"))
        elif names.index(name) != i:
            problems.append(RowProblem(1, name, "column appears twice"))
    for column in ("record_id", *(c.name for c in kind.columns if c.required)):
        if column not in names:
            problems.append(RowProblem(1, column, "missing required column"))
    if problems:
        raise HeaderProblem(problems)
    return names


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD)") from None


def _typed(column: Column, value: str) -> Any:
    if column.type == "date":
        return _date(value).isoformat()
    if column.type == "percent":
        try:
            number = float(value)
        except ValueError:
            raise ValueError("not a number") from None
        if not 0 <= number <= 100:
            raise ValueError("not between 0 and 100")
        return number
    if column.type == "count":
        if not value.isdigit() or len(value) > 6:
            raise ValueError("not a whole number of 0 or more")
        return int(value)
    if column.type == "bool":
        if value.lower() not in _BOOL:
            raise ValueError("not true or false")
        return value.lower() in _TRUE
    if column.type == "enum":
        if value not in column.values:
            raise ValueError("one of " + ", ".join(column.values))
        return value
    if column.type == "urn":
        return _urn(value)
    if len(value) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters")
    return value


def _person(values: dict[str, str]) -> tuple[list[Any], list[tuple[str, str]]]:
    """The person columns, normalised, and the problems found."""
    out: list[Any] = []
    problems: list[tuple[str, str]] = []
    for name in PERSON_COLUMNS:
        value = values.get(name, "")
        try:
            if not value:
                if name == "record_id":
                    raise ValueError("required")
                out.append(None)
            elif name == "date_of_birth":
                out.append(_date(value))
            elif name == "postcode":
                out.append(_postcode(value))
            elif name == "nhs_number":
                out.append(_nhs(value))
            elif name == "upn":
                out.append(_upn(value))
            elif name == "uprn":
                if not value.isdigit() or len(value) > 12:
                    raise ValueError("not a UPRN (up to 12 digits)")
                out.append(value.lstrip("0") or "0")
            elif len(value) > MAX_TEXT:
                raise ValueError(f"longer than {MAX_TEXT} characters")
            else:
                out.append(" ".join(value.split()))
        except ValueError as exc:
            problems.append((name, str(exc)))
            out.append(None)
    return out, problems


def parse(text: IO[str], kind: Kind, *, error_limit: int) -> Parsed:
    """Check and type every row of the file; a record id seen twice in one file is a problem of the second."""
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise HeaderProblem([RowProblem(1, "record_id", "the file is empty (no header row)")]) from None
    names = header_columns(header, kind)
    parsed = Parsed()
    seen: dict[str, int] = {}

    def problem(line: int, column: str, reason: str) -> None:
        if len(parsed.problems) < error_limit:
            parsed.problems.append(RowProblem(line, column, reason))

    for line, raw in _numbered(reader):
        if not raw or all(not v.strip() for v in raw):
            continue
        parsed.rows_total += 1
        if len(raw) != len(names):
            parsed.rows_rejected += 1
            problem(line, names[-1] if raw else "record_id", f"{len(raw)} values for {len(names)} columns")
            continue
        values = {n: v.strip() for n, v in zip(names, raw, strict=True)}
        person, problems = _person(values)
        attributes: dict[str, Any] = {}
        for column in kind.columns:
            value = values.get(column.name, "")
            if not value:
                if column.required:
                    problems.append((column.name, "required"))
                continue
            try:
                attributes[column.name] = _typed(column, value)
            except ValueError as exc:
                problems.append((column.name, str(exc)))
        record_id = values["record_id"]
        if record_id and record_id in seen and not problems:
            problems.append(("record_id", f"the same record_id as line {seen[record_id]}"))
        if problems:
            parsed.rows_rejected += 1
            for column_name, reason in problems:
                problem(line, column_name, reason)
            continue
        seen[record_id] = line
        body = json.dumps(attributes, sort_keys=True)
        row_hash = hashlib.sha256(("|".join(str(v) for v in person) + "|" + body).encode()).hexdigest()
        event = attributes.get(kind.event_date)
        parsed.rows.append((*person, date.fromisoformat(event) if event else None, body, row_hash))
    return parsed


def _numbered(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each row with the line it starts on (the header is line 1; a quoted value may span lines)."""
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1
